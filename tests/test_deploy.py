"""The deploy files, checked as far as this machine allows without a container engine.

Kubernetes manifests against the Kubernetes schema (kubernetes-validate, strict), the
compose file against the Compose Specification's JSON schema (check-jsonschema's vendored
copy), the Dockerfile with hadolint; then what the schemas cannot see: persistence, health
checks, the hardening of every container, and that the kustomization lists every manifest.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
BIN = Path(sys.executable).parent
EXAMPLES = ("secret.example.yaml", "ingress.example.yaml")


def tool(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run a validator installed in this venv (a dev dependency)."""
    return subprocess.run(
        [str(BIN / name), *args], capture_output=True, text=True, timeout=120, check=False
    )


def documents(path: Path) -> list[dict[str, Any]]:
    """Every YAML document in a file."""
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]


def manifests() -> list[Path]:
    """Every Kubernetes manifest in deploy/k8s (the kustomization itself is not one)."""
    return sorted(p for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")


def of_kind(kind: str) -> list[dict[str, Any]]:
    """The documents of one kind across deploy/k8s."""
    return [d for p in manifests() for d in documents(p) if d["kind"] == kind]


# -- Kubernetes --------------------------------------------------------------------------------


@pytest.mark.parametrize("path", manifests(), ids=lambda p: p.name)
def test_each_manifest_is_valid_kubernetes(path: Path) -> None:
    """kubernetes-validate --strict accepts every manifest (unknown fields are errors too)."""
    done = tool("kubernetes-validate", "--strict", "--quiet", str(path))
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_schema_check_rejects_a_misspelt_field(tmp_path: Path) -> None:
    """Canary: the validator fails a Deployment with `replica:` for `replicas:`."""
    bot = documents(K8S / "bot.yaml")[0]
    bot["spec"]["replica"] = bot["spec"].pop("replicas")
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(bot), encoding="utf-8")
    assert tool("kubernetes-validate", "--strict", "--quiet", str(bad)).returncode != 0


def test_the_kustomization_lists_every_manifest_but_the_examples() -> None:
    """`kubectl apply -k deploy/k8s` applies everything except the Secret and Ingress templates."""
    kustomization = documents(K8S / "kustomization.yaml")[0]
    listed = set(kustomization["resources"])
    assert listed == {p.name for p in manifests()} - set(EXAMPLES)
    assert {"Deployment", "Service", "ConfigMap", "PodDisruptionBudget", "NetworkPolicy"} <= {
        d["kind"] for name in listed for d in documents(K8S / name)
    }


def test_every_container_is_hardened_and_sized() -> None:
    """Non-root, read-only root filesystem, no privilege escalation, no capabilities, requests and limits."""
    deployments = of_kind("Deployment")
    assert {d["metadata"]["name"] for d in deployments} == {
        "model-access-bot",
        "model-access-worker",
    }
    for deployment in deployments:
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["automountServiceAccountToken"] is False
        assert pod["terminationGracePeriodSeconds"] > 10  # we stop within 10 s
        mounts = {v["name"] for v in pod["volumes"]}
        for container in pod["containers"]:
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True
            assert security["allowPrivilegeEscalation"] is False
            assert security["capabilities"]["drop"] == ["ALL"]
            for side in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(container["resources"][side])
            assert {m["name"] for m in container["volumeMounts"]} == mounts  # /tmp is writable


def test_the_bot_serves_http_with_probes_on_healthz_behind_a_service() -> None:
    """The bot runs `serve --http`; readiness and liveness ask /healthz; the Service and Ingress reach it."""
    (bot,) = [d for d in of_kind("Deployment") if d["metadata"]["name"] == "model-access-bot"]
    (container,) = bot["spec"]["template"]["spec"]["containers"]
    assert container["args"] == ["serve", "--http"]
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"]["path"] == "/healthz"
    (service,) = of_kind("Service")
    assert service["spec"]["ports"][0]["targetPort"] == "http"
    (ingress,) = of_kind("Ingress")
    (path,) = ingress["spec"]["rules"][0]["http"]["paths"]
    assert path["path"] == "/slack/events" and path["pathType"] == "Exact"
    assert path["backend"]["service"]["name"] == service["metadata"]["name"]
    (budget,) = of_kind("PodDisruptionBudget")
    assert budget["spec"]["minAvailable"] < bot["spec"]["replicas"]


def test_the_secret_template_holds_no_values() -> None:
    """secret.example.yaml names the variables and holds none of them."""
    (secret,) = of_kind("Secret")
    assert "data" not in secret
    assert secret["stringData"] and all(v == "" for v in secret["stringData"].values())


# -- compose -----------------------------------------------------------------------------------


def compose() -> dict[str, Any]:
    """deploy/compose.yaml, parsed (merge keys resolved, as compose resolves them)."""
    return documents(DEPLOY / "compose.yaml")[0]


def test_the_compose_file_follows_the_compose_specification() -> None:
    """check-jsonschema with the Compose Specification's schema accepts deploy/compose.yaml."""
    done = tool(
        "check-jsonschema", "--builtin-schema", "vendor.compose-spec", str(DEPLOY / "compose.yaml")
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_compose_schema_check_rejects_a_misspelt_healthcheck(tmp_path: Path) -> None:
    """Canary: a healthcheck with `tset:` for `test:` fails the same check."""
    data = compose()
    data["services"]["bot"]["healthcheck"] = {"tset": ["CMD", "true"]}
    bad = tmp_path / "compose.yaml"
    bad.write_text(yaml.safe_dump(data), encoding="utf-8")
    done = tool("check-jsonschema", "--builtin-schema", "vendor.compose-spec", str(bad))
    assert done.returncode != 0


def test_compose_redis_keeps_the_notice_records() -> None:
    """Redis runs with AOF persistence on a volume and never evicts (the outbox must survive)."""
    redis = compose()["services"]["redis"]
    command = " ".join(redis["command"])
    assert "--appendonly yes" in command and "--maxmemory-policy noeviction" in command
    assert any(v.endswith(":/data") for v in redis["volumes"])


def test_compose_checks_the_health_of_all_three_services() -> None:
    """bot, worker and redis each have a healthcheck; bot and worker wait for a healthy Redis."""
    services = compose()["services"]
    assert set(services) == {"redis", "bot", "worker"}
    for name, service in services.items():
        assert service["healthcheck"]["test"], name
        assert service.get("healthcheck", {}).get("disable") is not True, name
    for name in ("bot", "worker"):
        assert services[name]["depends_on"]["redis"]["condition"] == "service_healthy"
        assert "/healthz" in " ".join(services[name]["healthcheck"]["test"])
        assert services[name]["environment"]["PORT"] == "3000"


def test_compose_uses_the_sdk_variables_unless_told_otherwise() -> None:
    """No keys file is set by default, so .env with OPENAI_API_KEY alone gives a working bot."""
    for name in ("bot", "worker"):
        assert "MODEL_ACCESS_KEYS_FILE" not in compose()["services"][name]["environment"]


def test_env_example_names_only_variables_the_code_reads() -> None:
    """Every variable in .env.example is one the bot reads (no leftover names from old files)."""
    from bot.config import Env

    names = set(re.findall(r"^([A-Z_]+)=", (ROOT / ".env.example").read_text(), re.M))
    sdk = {"OPENAI_API_KEY", "ANTHROPIC_API_KEY", "AZURE_OPENAI_API_KEY", "AZURE_OPENAI_ENDPOINT"}
    assert names <= set(Env.model_fields) | sdk
    assert {"SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "OPENAI_API_KEY"} <= names


# -- Dockerfile --------------------------------------------------------------------------------


def test_the_dockerfile_passes_hadolint() -> None:
    """hadolint (with its default rules) has nothing to say about deploy/Dockerfile."""
    done = tool("hadolint", str(DEPLOY / "Dockerfile"))
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_image_gets_every_package_the_console_script_needs() -> None:
    """Each package pyproject installs (bot, handlers, cli) is copied into the build stage."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    packages = {p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]}
    copied = set(re.findall(r"^COPY (\w+) \./\1$", (DEPLOY / "Dockerfile").read_text(), re.M))
    assert packages == copied
