"""The one list of delivery channels. Adding a channel: its module (settings, French description,
example, send/send_digest, PLUGIN), one line here, its settings field in alerts/settings.py and its
recipient key in rules/recipients.py."""

from __future__ import annotations

from typing import TYPE_CHECKING

from alerts import console, email, matrix, mattermost, slack, sms, teams, webhook
from alerts.channels import Channel, ChannelContext, ChannelPlugin

if TYPE_CHECKING:
    from alerts.settings import AlertsSettings

PLUGINS: tuple[ChannelPlugin, ...] = (
    console.PLUGIN,
    slack.PLUGIN,
    email.PLUGIN,
    webhook.PLUGIN,
    teams.PLUGIN,
    matrix.PLUGIN,
    mattermost.PLUGIN,
    sms.PLUGIN,
)

BY_NAME: dict[str, ChannelPlugin] = {plugin.name: plugin for plugin in PLUGINS}


def get(name: str) -> ChannelPlugin | None:
    return BY_NAME.get(name)


def build_channels(settings: AlertsSettings, ctx: ChannelContext) -> dict[str, Channel]:
    """The enabled channels of an [alerts] section, by name."""
    channels: dict[str, Channel] = {}
    for plugin in PLUGINS:
        section = getattr(settings, plugin.name)
        if section.enabled:
            channels[plugin.name] = plugin.create(section, ctx)
    return channels
