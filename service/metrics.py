"""Prometheus metrics of the daemon, in one registry of its own."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

REMINDERS = Gauge(
    "staywatch_reminders", "Reminders in the store by status.", ["status"], registry=REGISTRY
)
SENDS = Counter(
    "staywatch_sends_total", "Delivery attempts by result.", ["result"], registry=REGISTRY
)
PLAN_SECONDS = Histogram(
    "staywatch_plan_seconds",
    "Time to plan and reconcile.",
    buckets=(0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30),
    registry=REGISTRY,
)
FEED_REQUESTS = Counter(
    "staywatch_feed_requests_total",
    "Calendar feed requests by response code.",
    ["code"],
    registry=REGISTRY,
)
CONFIG_OK = Gauge("staywatch_config_ok", "1 when the config file validates.", registry=REGISTRY)
DISPATCH_LAG = Histogram(
    "staywatch_dispatch_lag_seconds",
    "Delay from a reminder's due instant to its delivery.",
    buckets=(0.05, 0.1, 0.5, 1, 5, 60, 600, 3600),
    registry=REGISTRY,
)
