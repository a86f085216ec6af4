"""The cause ids: one name for each reason a key cannot use a model, or a pasted error happened.

The contract's ids (docs/causes.md) in their order; the taxonomy data gives each its words.
An operator's taxonomy file may add more, so cause fields stay plain strings: these members
compare equal to them.
"""

from __future__ import annotations

from enum import StrEnum


class Cause(StrEnum):
    """A cause id of the contract."""

    MODEL_TYPO = "model_typo"
    MODEL_RETIRED = "model_retired"
    MODEL_TIER_GATED = "model_tier_gated"
    ORG_VERIFICATION_REQUIRED = "org_verification_required"
    WRONG_ENDPOINT = "wrong_endpoint"
    FINE_TUNE_SCOPE = "fine_tune_scope"
    PROJECT_MODEL_BLOCKED = "project_model_blocked"
    AZURE_DEPLOYMENT_NOT_FOUND = "azure_deployment_not_found"
    INSUFFICIENT_QUOTA = "insufficient_quota"
    RATE_LIMIT = "rate_limit"
    INVALID_API_KEY = "invalid_api_key"
    MISSING_SCOPE = "missing_scope"
    ORGANIZATION_MISMATCH = "organization_mismatch"
    CONTEXT_LENGTH_EXCEEDED = "context_length_exceeded"
    SDK_VERSION = "sdk_version"
    UNSUPPORTED_REGION = "unsupported_region"
    PROVIDER_OUTAGE = "provider_outage"
    NETWORK = "network"
    MODEL_NOT_FOUND = "model_not_found"
    UNKNOWN = "unknown"
    NOT_AN_ERROR = "not_an_error"


CAUSES: tuple[str, ...] = tuple(Cause)

# Causes about the model itself: the catalog decides between them.
MODEL_CAUSES = frozenset(
    {Cause.MODEL_NOT_FOUND, Cause.MODEL_RETIRED, Cause.MODEL_TYPO, Cause.MODEL_TIER_GATED}
)
# A refusal as if the model did not exist (a typo is one that has a near miss).
NOT_FOUND = frozenset({Cause.MODEL_NOT_FOUND, Cause.MODEL_TYPO})
# Outcomes that may be gone in a minute: cached briefly, shown as a warning, not a refusal.
TRANSIENT = frozenset({Cause.NETWORK, Cause.PROVIDER_OUTAGE, Cause.RATE_LIMIT})
