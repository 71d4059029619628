"""Plugin state: which plugins are enabled, kept in the database and applied at start-up."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import inspect, select

from app.extensions import db
from app.models import PluginSetting
from app.plugins.manager import PluginRecord, plugin_system
from app.services.errors import ValidationError
from app.services.transaction import transaction

#: The fallbacks of matching: without them a failing matcher or distance plugin has nothing to fall back on.
ESSENTIAL = {"app.plugins.builtin.weighted_matcher", "app.plugins.builtin.haversine"}


#: What a plugin can provide, in the order the plugins page and ``flask plugins list`` show it.
KINDS = ("detail types", "matchers", "notification channels", "alert checks", "distance provider", "blueprints",
         "commands", "settings")


def list_plugins() -> list[PluginRecord]:
    return sorted(plugin_system(current_app).records.values(), key=lambda r: (not r.builtin, r.name))


@dataclass(frozen=True)
class PluginEntry:
    """One plugin as the plugins page and ``flask plugins list`` show it."""

    record: PluginRecord
    #: ``(kind, names)`` for each kind of thing it provides, in ``KINDS`` order.
    provides: list[tuple[str, list[str]]]
    essential: bool
    #: The state stored for the next start (``plugin_settings``; enabled when nothing is stored).
    stored: bool
    by_environment: bool
    restart_needed: bool

    @property
    def next_state(self) -> str:
        return "disabled" if self.record.enabled else "enabled"


def plugin_inventory() -> list[PluginEntry]:
    """Every plugin: package, version, state, and what it provides by name (two queries at most)."""
    stored: dict[str, bool] = {}
    if inspect(db.engine).has_table(PluginSetting.__tablename__):  # `flask plugins list` before `flask db upgrade`
        stored = dict(db.session.execute(select(PluginSetting.name, PluginSetting.enabled)).all())
    from_environment = {
        name.strip() for name in current_app.config.get("MOTORPOOL_DISABLED_PLUGINS", "").split(",") if name.strip()
    }
    entries = []
    for record in list_plugins():
        essential = record.name in ESSENTIAL
        wanted = essential or (stored.get(record.name, True) and record.name not in from_environment)
        entries.append(PluginEntry(
            record=record,
            provides=[(kind, record.provides[kind]) for kind in KINDS if record.provides.get(kind)],
            essential=essential,
            stored=stored.get(record.name, True),
            by_environment=record.name in from_environment and not essential,
            restart_needed=record.error is None and wanted != record.enabled,
        ))
    return entries


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
