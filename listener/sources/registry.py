"""The one list of source types. Adding a source: its module (settings model, French description,
example block, collector, PLUGIN), one line here, its [[sources]] example in config.toml, its tests."""

from __future__ import annotations

from typing import Annotated, Union

from pydantic import Field

from listener.sources import (
    bluesky,
    facebook,
    instagram,
    jetstream,
    mastodon,
    reddit,
    replay,
    rss,
    threads,
    x,
    youtube,
)
from listener.sources.base import Source, SourceContext, SourcePlugin
from listener.sources.settings import BaseSourceSettings

PLUGINS: tuple[SourcePlugin, ...] = (
    facebook.PLUGIN,
    instagram.PLUGIN,
    mastodon.PLUGIN,
    bluesky.PLUGIN,
    jetstream.PLUGIN,
    rss.PLUGIN,
    threads.PLUGIN,
    youtube.PLUGIN,
    x.PLUGIN,
    reddit.PLUGIN,
    replay.PLUGIN,
)

BY_TYPE: dict[str, SourcePlugin] = {plugin.type: plugin for plugin in PLUGINS}

# A [[sources]] block is read by the model its `type` names (pydantic's discriminated union).
SourceSettings = Annotated[Union[tuple(plugin.settings for plugin in PLUGINS)], Field(discriminator="type")]  # noqa: UP007


def get(type_name: str) -> SourcePlugin | None:
    return BY_TYPE.get(type_name)


def create(settings: BaseSourceSettings, context: SourceContext) -> Source:
    """The collector for one configured source."""
    return BY_TYPE[settings.type].create(settings, context)
