"""The detection area's set-up in the daemon: one DetectionService, its per-minute step and health entry."""

from __future__ import annotations

from classifiers.detection.service import DetectionService
from classifiers.detection.settings import DetectorSettings
from listener.host import Host, Key

DETECTION: Key[DetectionService] = Key("detection")


def setup(host: Host) -> DetectionService:
    """Register the per-minute detection step (before the rules, see the manifest) and its health entry."""
    settings: DetectorSettings = host.settings.detectors
    sources = [source.name for source in getattr(host, "sources", [])]
    service = DetectionService(host.store, settings, tz=host.tz, sources=sources)
    if settings.enabled:
        host.add_evaluation_step("detection", service.run, absorb=service.absorb)
    host.add_health("detection", service.health)
    host.provide(DETECTION, service)
    return service
