"""Plugin state: which plugins are enabled, kept in the database and applied at start-up."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.models import PluginSetting
from app.plugins.manager import PluginRecord, plugin_system
from app.services.errors import ValidationError
from app.services.transaction import transaction

#: The fallbacks of matching: without them a failing matcher or distance plugin has nothing to fall back on.
ESSENTIAL = {"app.plugins.builtin.weighted_matcher", "app.plugins.builtin.haversine"}


def list_plugins() -> list[PluginRecord]:
    return sorted(plugin_system(current_app).records.values(), key=lambda r: (r.origin != "built-in", r.name))


def set_enabled(name: str, enabled: bool) -> bool:
    """Store the plugin's state; returns True when a restart is needed for it to take effect."""
    records = plugin_system(current_app).records
    if name not in records:
        known = ", ".join(sorted(records)) or "none"
        raise ValidationError(f"There is no plugin named {name!r}. Installed plugins: {known}.", field="name")
    if not enabled and name in ESSENTIAL:
        raise ValidationError(f"{name} provides core behaviour and cannot be disabled; override it with a plugin instead.")
    with transaction():
        setting = db.session.scalar(select(PluginSetting).where(PluginSetting.name == name))
        if setting is None:
            db.session.add(PluginSetting(name=name, enabled=enabled))
        else:
            setting.enabled = enabled
    return records[name].enabled != enabled
