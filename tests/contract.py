"""The JSON fields ../shared/DESIGN.md promises other tools; the CLI tests hold output to them."""

CHECK_FIELDS = {"model", "endpoint", "results", "diagnosis"}
RESULT_FIELDS = {
    "alias",
    "provider",
    "fingerprint",
    "accessible",
    "cause",
    "http_status",
    "error_code",
    "evidence",
    "cached",
    "latency_ms",
    "limits",
    "shutdown",
}
DIAGNOSIS_FIELDS = {
    "cause",
    "provider",
    "model",
    "http_status",
    "error_code",
    "retryable",
    "did_you_mean",
    "replacement",
    "summary",
    "fixes",
}
