"""Prometheus metrics of the Slack app, in a registry of its own (one per app, so tests can build many)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

ACK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0)


class Metrics:
    """Counters for commands, probes, replies and errors; a histogram of ack latency."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.commands = Counter(
            "model_access_commands",
            "Slash commands, buttons and shortcuts received, by kind.",
            ["kind"],
            registry=self.registry,
        )
        self.probes = Counter(
            "model_access_probes",
            "Checks asked for from Slack, by outcome (usable, refused, limited, failed).",
            ["outcome"],
            registry=self.registry,
        )
        self.replies = Counter(
            "model_access_replies",
            "Answers posted, by where they went (ephemeral, channel, thread, home).",
            ["where"],
            registry=self.registry,
        )
        self.errors = Counter(
            "model_access_errors",
            "Failures while answering, by where they happened.",
            ["where"],
            registry=self.registry,
        )
        self.ack_seconds = Histogram(
            "model_access_ack_seconds",
            "Time from receiving a Slack request to acknowledging it.",
            ["kind"],
            buckets=ACK_BUCKETS,
            registry=self.registry,
        )

    def render(self) -> bytes:
        """The text exposition for GET /metrics."""
        return generate_latest(self.registry)
