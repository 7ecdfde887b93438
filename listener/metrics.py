"""Prometheus metrics. One registry per service instance so tests can run several side by side."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.mentions_ingested = Counter(
            "vigie_mentions_ingested_total", "Mentions stored, per source", ["source"], registry=r
        )
        self.mentions_duplicate = Counter(
            "vigie_mentions_duplicate_total", "Mentions dropped as already stored, per source", ["source"], registry=r
        )
        self.invalid_payloads = Counter(
            "vigie_invalid_payloads_total", "Payloads rejected as malformed, per source", ["source"], registry=r
        )
        self.pipeline_latency = Histogram(
            "vigie_pipeline_batch_seconds",
            "Time to take one batch through the pipeline (dedupe, language, classify, store, count)",
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=r,
        )
        self.pipeline_queue = Gauge("vigie_pipeline_queue_batches", "Batches waiting in the pipeline", registry=r)
        self.source_errors = Counter("vigie_source_errors_total", "Source errors, per source", ["source"], registry=r)
        self.component_restarts = Counter(
            "vigie_component_restarts_total", "Restarts after a crash, per component", ["component"], registry=r
        )
        self.signals = Counter("vigie_signals_total", "Signals raised by detectors, per kind", ["kind"], registry=r)
        self.alerts_raised = Counter("vigie_alerts_raised_total", "Alerts raised, per severity", ["severity"], registry=r)
        self.alerts_sent = Counter("vigie_alerts_sent_total", "Deliveries confirmed, per channel", ["channel"], registry=r)
        self.alerts_failed = Counter(
            "vigie_alerts_failed_total", "Delivery attempts that failed, per channel", ["channel"], registry=r
        )
        self.evaluation_seconds = Histogram(
            "vigie_evaluation_seconds", "Time of one detection and rules pass", registry=r
        )
        self.crisis_state = Gauge(
            "vigie_crisis_state", "Crisis mode: 0 normal, 1 vigilance, 2 crise, 3 retour à la normale", registry=r
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
