"""Fake LLM provider servers for tests, subprocesses and benchmarks.

Real HTTP servers on 127.0.0.1 (port 0) that speak the providers' wire formats, so the
official SDKs work unchanged through ``base_url``::

    async with FakeOpenAI(accounts=[Account(key, models=["gpt-4o"])]) as fake:
        client = AsyncOpenAI(api_key=key, base_url=fake.base_url, max_retries=0)

    fake = FakeAnthropic(accounts=[...]).start_in_thread()   # sync code, subprocesses
    ...
    fake.stop()

All four at once, from YAML, for a spawned CLI or a benchmark::

    python -m tests.fakes.providers --accounts accounts.yaml
    # prints one JSON line: {"openai": ".../v1", "gateway": ".../v1", "azure": "...", "anthropic": "..."}

The YAML has one list of accounts per provider, with ``Account`` field names; models are
ids or ``ModelSpec`` mappings, failures are kind names or ``Failure`` mappings; ``key_tag``
builds a fake key at load time::

    openai:
      - key_tag: tier1
        tier: tier1
        models: [gpt-4o, {id: gpt-5, shutdown_date: "2026-12-11"}]
      - key_tag: broke
        models: [gpt-4o]
        failures: [no_quota]
    azure:
      - key_tag: res1
        models: [{id: gpt-4o, deprecation_inference: 1776124800}]
        deployments: {chat: gpt-4o}
    anthropic:
      - key_tag: ant
        models: [{id: claude-sonnet-4-5-20250929, aliases: [claude-sonnet-4-5]}]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Self

import yaml

from tests.fakes.accounts import (
    ENDPOINTS,
    FAILURE_STAGES,
    HANG_S,
    TIERS,
    Account,
    ApiError,
    Failure,
    FakeServer,
    Lifecycle,
    ModelSpec,
    RateLimits,
    RecordedRequest,
    default_endpoints,
    fake_key,
    load_accounts,
    mask_key,
)
from tests.fakes.anthropic_fake import FakeAnthropic
from tests.fakes.azure_fake import FakeAzure
from tests.fakes.openai_fake import FakeGateway, FakeOpenAI

__all__ = [
    "ENDPOINTS",
    "FAILURE_STAGES",
    "HANG_S",
    "TIERS",
    "Account",
    "ApiError",
    "Failure",
    "FakeAnthropic",
    "FakeAzure",
    "FakeGateway",
    "FakeOpenAI",
    "FakeProviders",
    "FakeServer",
    "ModelSpec",
    "RateLimits",
    "RecordedRequest",
    "default_endpoints",
    "fake_key",
    "load_accounts",
    "main",
    "mask_key",
]

AccountLike = Account | Mapping[str, Any]


class FakeProviders(Lifecycle):
    """The four fakes together, started and stopped as one."""

    def __init__(
        self,
        *,
        openai: Iterable[AccountLike] = (),
        gateway: Iterable[AccountLike] = (),
        azure: Iterable[AccountLike] = (),
        anthropic: Iterable[AccountLike] = (),
        host: str = "127.0.0.1",
    ) -> None:
        self.openai = FakeOpenAI(openai, host=host)
        self.gateway = FakeGateway(gateway, host=host)
        self.azure = FakeAzure(azure, host=host)
        self.anthropic = FakeAnthropic(anthropic, host=host)

    @classmethod
    def from_yaml(cls, path: str | Path, *, host: str = "127.0.0.1") -> FakeProviders:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        return cls(**load_accounts(data), host=host)

    @property
    def servers(self) -> dict[str, FakeServer]:
        return {
            "openai": self.openai,
            "gateway": self.gateway,
            "azure": self.azure,
            "anthropic": self.anthropic,
        }

    def urls(self) -> dict[str, str]:
        return {name: server.base_url for name, server in self.servers.items()}

    async def astart(self) -> Self:
        started: list[FakeServer] = []
        try:
            for server in self.servers.values():
                await server.astart()
                started.append(server)
        except BaseException:
            for server in started:
                await server.aclose()
            raise
        return self

    async def aclose(self) -> None:
        for server in self.servers.values():
            await server.aclose()


async def _serve(providers: FakeProviders) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with providers:
        print(json.dumps(providers.urls()), flush=True)
        await stop.wait()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.fakes.providers",
        description="Run the fake OpenAI, gateway, Azure and Anthropic servers; print their URLs.",
    )
    parser.add_argument("--accounts", type=Path, help="YAML file of accounts per provider")
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args(argv)
    if args.accounts is not None:
        providers = FakeProviders.from_yaml(args.accounts, host=args.host)
    else:
        providers = FakeProviders(host=args.host)
    asyncio.run(_serve(providers))
    return 0


if __name__ == "__main__":
    sys.exit(main())
