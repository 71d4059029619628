"""The built-in channels' settings as admins see them: values shown, secrets only as "set"."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import current_app

from app.config import CHANNEL_SETTINGS, SECRET_SETTINGS, active_notifiers


@dataclass(frozen=True)
class ShownSetting:
    name: str
    value: str  # what the page shows; for a secret only "set, hidden" or "not set"
    secret: bool


@dataclass(frozen=True)
class ChannelSettings:
    channel: str
    active: bool
    settings: list[ShownSetting]


def shown_value(name: str, value: object) -> str:
    if value is None or value == "":
        return "not set"
    if name in SECRET_SETTINGS:
        return "set, hidden"
    if name.endswith("_URL"):
        # Slack and Teams put the credential in the URL's path: only where it goes is shown.
        parts = urlsplit(str(value))
        return f"{parts.scheme}://{parts.hostname}/… (path hidden)"
    return str(value)


def channel_settings() -> list[ChannelSettings]:
    """Each built-in channel, whether ``MOTORPOOL_NOTIFIERS`` makes it active, and its settings."""
    config = current_app.config
    active = active_notifiers(config)
    return [
        ChannelSettings(channel, channel in active,
                        [ShownSetting(name, shown_value(name, config.get(name)), name in SECRET_SETTINGS)
                         for name in names])
        for channel, (names, _required) in CHANNEL_SETTINGS.items()
    ]
