"""Source types by name; each lives in its own module and is imported only when configured.

Convention: a collected mention's `source` is the configured source `name` (e.g. "mastodon-rivebelle"),
which is also the key of its cursor in the store and of its line in /healthz (`source:<name>`); the
network is known from the source's `type`. `external_id` is the network's stable id: Mastodon status
id, Bluesky at:// URI, feed entry guid (or link), Reddit fullname (t3_…).
"""

from __future__ import annotations

import importlib

from listener.sources.base import MentionSink, Source, SourceContext, SourceHealth

SOURCE_TYPES: dict[str, str] = {
    "replay": "listener.sources.replay:ReplaySource",
    "mastodon": "listener.sources.mastodon:MastodonSource",
    "bluesky": "listener.sources.bluesky:BlueskySource",
    "jetstream": "listener.sources.jetstream:JetstreamSource",
    "rss": "listener.sources.rss:RssSource",
    "reddit": "listener.sources.reddit:RedditSource",
}


def source_class(type_name: str) -> type[Source]:
    module_name, _, class_name = SOURCE_TYPES[type_name].partition(":")
    return getattr(importlib.import_module(module_name), class_name)


__all__ = ["MentionSink", "Source", "SourceContext", "SourceHealth", "SOURCE_TYPES", "source_class"]
