"""The credential formats people paste, as rules: who issued it, what it is, what it looks like.

Sources for each format: gitleaks `config/gitleaks.toml` and `cmd/generate/config/rules/*.go`,
trufflehog `pkg/detectors/*`, GitGuardian's detector pages, Microsoft's identifiable-secret
pattern for Azure AI keys (summarised with references in tests/fakes/SOURCES.md, "Secret
formats"). Lengths are widened where the sources disagree, and the test keys of this project
(short, obviously fake) must match too.

Three strengths:

* ``certain``: a distinctive prefix or signature; reported and masked wherever it appears.
* ``context``: a value that is a secret because of what stands before it (an Authorization
  header, `api_key=`, an `AWS_SECRET_ACCESS_KEY`); the rule's group ``v`` is the secret.
* ``possible``: the shape of a key with nothing to prove it (a bare 32-hex string is also a
  request id): masked in what we print, never warned about.

Every pattern starts with a literal or a bounded class and has only bounded repeats, so a
scan is linear in the text's length.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Strength = Literal["certain", "context", "possible"]

# What a value may be made of after a keyword (base64, hex, url-safe, dotted tokens).
_VALUE = r"[A-Za-z0-9_./+=~-]{16,500}"
_KEY_WORDS = (
    r"api[_-]?key|apikey|secret|token|passw(?:or)?d|credential|access[_-]?key|private[_-]?key"
)


@dataclass(frozen=True)
class Rule:
    """One credential format.

    A match is tried only where one of its `needles` occurs (found for all rules at once by
    one Aho-Corasick pass), starting `back` characters before the needle; `nocase` needles
    are looked for in the lower-cased text. `shown` is the prefix a masked value keeps.
    """

    provider: str
    kind: str
    pattern: re.Pattern[str]
    needles: tuple[str, ...]
    strength: Strength = "certain"
    shown: str = ""
    back: int = 0
    nocase: bool = False

    @classmethod
    def of(
        cls,
        provider: str,
        kind: str,
        pattern: str,
        needles: tuple[str, ...],
        *,
        strength: Strength = "certain",
        shown: str = "",
        back: int = 0,
    ) -> Rule:
        """A rule from a pattern string; context rules match case-insensitively."""
        nocase = strength == "context"
        flags = re.IGNORECASE if nocase else 0
        return cls(
            provider, kind, re.compile(pattern, flags), needles, strength, shown, back, nocase
        )


_END = r"(?![A-Za-z0-9_-])"
_SLACK = tuple(f"xox{c}-" for c in "apeors")

# Most specific first: where two rules match the same text, the earlier one names it.
RULES: tuple[Rule, ...] = (
    Rule.of("pem", "private key", r"-----BEGIN [A-Z ]{0,20}PRIVATE KEY-----[A-Za-z0-9+/=\s]{0,8000}", ("-----BEGIN ",)),
    Rule.of("anthropic", "Anthropic Admin key", r"sk-ant-admin\d\d-[A-Za-z0-9_-]{12,300}", ("sk-ant-admin",), shown="sk-ant-admin"),
    Rule.of("anthropic", "Claude OAuth token", r"sk-ant-o[ar]t\d\d-[A-Za-z0-9_-]{12,300}", ("sk-ant-o",), shown="sk-ant-"),
    Rule.of("anthropic", "Anthropic API key", r"sk-ant-[A-Za-z0-9_-]{12,300}", ("sk-ant-",), shown="sk-ant-"),
    Rule.of("openrouter", "OpenRouter API key", r"sk-or-v1-[0-9a-fA-F]{20,100}" + _END, ("sk-or-v1-",), shown="sk-or-v1-"),
    Rule.of("openai", "OpenAI admin key", r"sk-admin-[A-Za-z0-9_-]{12,300}", ("sk-admin-",), shown="sk-admin-"),
    Rule.of("openai", "OpenAI project key", r"sk-proj-[A-Za-z0-9_-]{12,300}", ("sk-proj-",), shown="sk-proj-"),
    Rule.of("openai", "OpenAI service-account key", r"sk-(?:svcacct|service)-[A-Za-z0-9_-]{12,300}", ("sk-svcacct-", "sk-service-"), shown="sk-svcacct-"),
    Rule.of("xai", "xAI API key", r"xai-[A-Za-z0-9_]{40,120}" + _END, ("xai-",), shown="xai-"),
    Rule.of("groq", "Groq API key", r"gsk_[A-Za-z0-9]{40,60}" + _END, ("gsk_",), shown="gsk_"),
    Rule.of("perplexity", "Perplexity API key", r"pplx-[A-Za-z0-9]{40,60}" + _END, ("pplx-",), shown="pplx-"),
    Rule.of("together", "Together AI key", r"tgp_v1_[A-Za-z0-9_-]{30,60}" + _END, ("tgp_v1_",), shown="tgp_v1_"),
    Rule.of("replicate", "Replicate token", r"r8_[0-9A-Za-z_-]{30,45}" + _END, ("r8_",), shown="r8_"),
    Rule.of("fireworks", "Fireworks API key", r"fw_[A-Za-z0-9]{20,40}" + _END, ("fw_",), shown="fw_"),
    Rule.of("huggingface", "Hugging Face token", r"(?:hf|api_org)_[A-Za-z0-9]{30,40}" + _END, ("hf_", "api_org_"), shown="hf_"),
    Rule.of("google", "Google API key", r"AIza[0-9A-Za-z_-]{35}" + _END, ("AIza",), shown="AIza"),
    Rule.of("google", "Google OAuth token", r"ya29\.[0-9A-Za-z_-]{20,2000}", ("ya29.",), shown="ya29."),
    Rule.of("google", "Google OAuth client secret", r"GOCSPX-[0-9A-Za-z_-]{28}", ("GOCSPX-",), shown="GOCSPX-"),
    Rule.of("aws", "AWS access key id", r"(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}\b", ("AKIA", "ASIA", "ABIA", "ACCA"), shown="AKIA"),
    Rule.of(
        "azure",
        "Azure OpenAI key",
        r"[A-Za-z0-9]{52}JQQJ9[9DH][A-Za-z0-9][A-L][A-Za-z0-9]{16}[A-Za-z][A-Za-z0-9]{7}"
        r"(?:[A-Za-z0-9]{2}==)?(?![A-Za-z0-9])",
        ("JQQJ9",),
        back=52,
    ),
    Rule.of("slack", "Slack config token", r"xoxe\.xox[bp]-[0-9A-Za-z-]{10,300}", ("xoxe.",), shown="xoxe."),
    Rule.of("slack", "Slack bot token", r"xoxb-[0-9A-Za-z-]{10,300}", ("xoxb-",), shown="xoxb-"),
    Rule.of("slack", "Slack user token", r"xox[apeors]-[0-9A-Za-z-]{10,300}", _SLACK, shown="xox"),
    Rule.of("slack", "Slack app token", r"xapp-[0-9A-Za-z-]{10,300}", ("xapp-",), shown="xapp-"),
    Rule.of("slack", "Slack webhook", r"https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9/+_-]{20,200}", ("https://hooks.slack.com/",), shown="https://hooks.slack.com/"),
    Rule.of("github", "GitHub token", r"gh[pousr]_[A-Za-z0-9]{30,255}" + _END, ("ghp_", "gho_", "ghu_", "ghs_", "ghr_"), shown="gh"),
    Rule.of("github", "GitHub token", r"github_pat_[A-Za-z0-9_]{40,255}", ("github_pat_",), shown="github_pat_"),
    Rule.of("stripe", "Stripe secret key", r"(?:sk|rk)_(?:live|test|prod)_[A-Za-z0-9]{10,99}", ("sk_", "rk_"), shown="sk_"),
    Rule.of("jwt", "JSON Web Token", r"eyJ[A-Za-z0-9_-]{10,4000}\.eyJ[A-Za-z0-9_-]{10,4000}\.[A-Za-z0-9_-]{0,4000}", ("eyJ",), shown="eyJ"),
    Rule.of("azure", "Microsoft Entra client secret", r"[A-Za-z0-9_~.]{3}\dQ~[A-Za-z0-9_~.-]{31,34}", ("Q~",), back=4),
    Rule.of("openai", "OpenAI API key", r"sk-[A-Za-z0-9_-]{12,300}", ("sk-",), shown="sk-"),
    # -- a secret because of where it stands (matched case-insensitively) ----------------------
    Rule.of(
        "azure",
        "Azure OpenAI key",
        r"(?:api[-_ ]?key|subscription[-_ ]key)[\"']?[\s\"':=]{1,6}(?P<v>[0-9a-f]{32})(?![0-9A-Za-z_-])",
        ("api", "subscription"),
        strength="context",
    ),
    Rule.of(
        "aws",
        "AWS secret access key",
        r"secret_?access_?key[\"']?\s{0,3}[:=]\s{0,3}[\"']?(?P<v>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])",
        ("secret",),
        strength="context",
    ),
    Rule.of(
        "unknown",
        "credential in an Authorization header",
        r"authorization[\"']?\s{0,3}[:=]\s{0,3}[\"']?(?:bearer|basic|token)\s{1,3}(?P<v>[A-Za-z0-9._~+/=-]{12,500})",
        ("authorization",),
        strength="context",
    ),
    Rule.of(
        "unknown",
        "credential in an API-key header",
        r"(?:api-key|ocp-apim-subscription-key)[\"']?\s{0,3}[:=]\s{0,3}[\"']?(?P<v>[A-Za-z0-9._~+/=-]{12,500})",
        ("api-key", "ocp-apim"),
        strength="context",
    ),
    Rule.of(
        "unknown",
        "credential in a URL",
        r"(?:key|token)=(?P<v>[A-Za-z0-9._~+/-]{16,500})",
        ("key=", "token="),
        strength="context",
    ),
    Rule.of(
        "unknown",
        "password in a connection URL",
        r"://[^/\s:@]{0,100}:(?P<v>[^@\s/]{3,200})@",
        ("://",),
        strength="context",
    ),
    Rule.of(
        "unknown",
        "credential",
        rf"(?:{_KEY_WORDS})[A-Za-z0-9_.-]{{0,20}}[\"']?\s{{0,3}}(?:=|:|:=|=>)\s{{0,3}}[\"'`]?(?P<v>{_VALUE})",
        ("api", "apikey", "secret", "token", "passw", "credential", "access", "private"),
        strength="context",
    ),
)  # fmt: skip

# The bare shapes of keys (found by `possible_shapes`, not by needles): masked, never warned about.
POSSIBLE_KIND = "possible Azure OpenAI key"
_RUN = re.compile(r"[0-9A-Za-z]{32,}")
_HEX32 = re.compile(r"[0-9a-f]{32}")


def possible_shapes(text: str) -> list[tuple[int, int]]:
    """Spans of bare key shapes: exactly 32 lower-case hex or 84 letters and digits, standing alone."""
    spans = []
    for m in _RUN.finditer(text):
        start, end = m.span()
        if (start > 0 and text[start - 1] in "_-") or (end < len(text) and text[end] in "_-"):
            continue
        n = end - start
        if n == 84 or (n == 32 and _HEX32.fullmatch(text, start, end)):
            spans.append((start, end))
    return spans


# Values a keyword rule finds that are not secrets: templates, placeholders, masks.
PLACEHOLDER = re.compile(
    r"x{4,}|\*{3,}|\.{3}|…|your[-_ ]?[a-z_ -]{0,20}(?:key|token|secret)|(?:key|token)[-_ ]?here"
    r"|example|placeholder|dummy|changeme"
    r"|<[^>]{0,40}>|\$\{?[A-Z_]{2,40}\}?|\{\{|^(?:undefined|null|none|true|false)$",
    re.IGNORECASE,
)

# Where a key can be revoked and replaced.
ROTATION_PAGES: dict[str, str] = {
    "openai": "https://platform.openai.com/api-keys",
    "anthropic": "https://console.anthropic.com/settings/keys",
    "azure": "https://portal.azure.com (your Azure OpenAI resource > Keys and Endpoint > Regenerate)",
    "slack": "https://api.slack.com/apps (your app > OAuth & Permissions / Basic Information)",
    "google": "https://console.cloud.google.com/apis/credentials",
    "aws": "https://console.aws.amazon.com/iam (Users > Security credentials > Access keys)",
    "groq": "https://console.groq.com/keys",
    "xai": "https://console.x.ai (API Keys)",
    "huggingface": "https://huggingface.co/settings/tokens",
    "openrouter": "https://openrouter.ai/settings/keys",
    "together": "https://api.together.ai/settings/api-keys",
    "github": "https://github.com/settings/tokens",
    "perplexity": "https://www.perplexity.ai/settings/api",
    "replicate": "https://replicate.com/account/api-tokens",
    "fireworks": "https://fireworks.ai/account/api-keys",
    "stripe": "https://dashboard.stripe.com/apikeys",
}
