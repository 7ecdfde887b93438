"""Collectors. Each source type is one module that describes itself (SourcePlugin); registry.py lists them.

Convention: a collected mention's `source` is the configured source `name` (e.g. "mastodon-rivebelle"),
which is also the key of its cursor in the store and of its line in /healthz (`source:<name>`); the
network is known from the source's `type`. `external_id` is the network's stable id: Mastodon status
id, Bluesky at:// URI, feed entry guid (or link), Reddit fullname (t3_…).
"""

from __future__ import annotations

from listener.sources.base import MentionSink, Source, SourceContext, SourceHealth, SourcePlugin

__all__ = ["MentionSink", "Source", "SourceContext", "SourceHealth", "SourcePlugin"]
