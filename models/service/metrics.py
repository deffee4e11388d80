"""Prometheus metrics of one app, on its own registry (so several apps can live in one process)."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)
SIZE_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
TOKEN_BUCKETS = (16, 64, 256, 512, 1024, 2048, 4096, 8192, 16384)
OVERHEAD_BUCKETS = (1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2)


@dataclass(frozen=True)
class ServiceMetrics:
    """Every metric the service exports."""

    registry: CollectorRegistry
    requests: Counter
    texts: Counter
    rejected: Counter
    request_latency: Histogram
    queue_wait: Histogram
    compute: Histogram
    metering_overhead: Histogram
    costing_cpu: Counter
    batch_size: Histogram
    batch_tokens: Histogram
    queue_depth: Gauge
    cost_pico: Counter
    energy_uj: Counter
    co2_ng: Counter
    records_lost: Counter
    meter_fallbacks: Counter


def create_metrics() -> ServiceMetrics:
    """Build the metrics on a fresh registry."""
    registry = CollectorRegistry(auto_describe=True)

    def seconds(name: str, doc: str, buckets: tuple[float, ...] = LATENCY_BUCKETS) -> Histogram:
        return Histogram(name, doc, buckets=buckets, registry=registry)

    return ServiceMetrics(
        registry=registry,
        requests=Counter(
            "costbot_requests",
            "HTTP requests by endpoint and status.",
            ["endpoint", "status"],
            registry=registry,
        ),
        texts=Counter("costbot_texts", "Texts classified, by task.", ["task"], registry=registry),
        rejected=Counter(
            "costbot_rejected", "Requests refused, by code.", ["code"], registry=registry
        ),
        request_latency=seconds("costbot_request_latency_seconds", "Classify request latency."),
        queue_wait=seconds("costbot_queue_wait_seconds", "Time a text waited for its batch."),
        compute=seconds("costbot_batch_compute_seconds", "Forward-pass wall time per batch."),
        metering_overhead=seconds(
            "costbot_metering_overhead_seconds",
            "Batch time outside the forward pass: meter, price, split, record.",
            OVERHEAD_BUCKETS,
        ),
        costing_cpu=Counter(
            "costbot_costing_cpu_seconds",
            "CPU the forward thread spent on each batch outside its forward pass: metering, "
            "pricing, splitting, building outcomes and handing records to the writer.",
            registry=registry,
        ),
        batch_size=Histogram(
            "costbot_batch_size", "Texts per batch.", buckets=SIZE_BUCKETS, registry=registry
        ),
        batch_tokens=Histogram(
            "costbot_batch_tokens",
            "Tokens computed per batch.",
            buckets=TOKEN_BUCKETS,
            registry=registry,
        ),
        queue_depth=Gauge("costbot_queue_depth", "Texts waiting for a batch.", registry=registry),
        cost_pico=Counter(
            "costbot_cost_pico",
            "Inference cost in pico-units of the currency.",
            ["component", "currency"],
            registry=registry,
        ),
        energy_uj=Counter("costbot_energy_microjoules", "Inference energy.", registry=registry),
        co2_ng=Counter("costbot_co2_nanograms", "Inference CO2-equivalent.", registry=registry),
        records_lost=Counter(
            "costbot_records_lost", "Inference records the writer refused.", registry=registry
        ),
        meter_fallbacks=Counter(
            "costbot_meter_fallbacks",
            "Batch windows whose energy was estimated because the meter failed or read an "
            "impossible value, by component and reason.",
            ["component", "reason"],
            registry=registry,
        ),
    )
