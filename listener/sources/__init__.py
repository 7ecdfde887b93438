"""Source types by name; each lives in its own module and is imported only when configured."""

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
