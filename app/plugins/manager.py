"""Builds an application's plugin system: built-in plugins, then installed ones.

Every plugin, built in or installed, goes through ``load_plugins``. Each is imported once;
enabled plugins are registered with the application's ``pluggy.PluginManager``, disabled
ones are blocked there (``set_blocked``) but kept in an *inventory* manager that is asked
only for structural facts every installed plugin must always give (its migrations).
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass, field
from importlib import metadata
from types import ModuleType
from typing import Any

import pluggy
from flask import Flask, current_app

from app.plugins import PROJECT_NAME, hookspecs

logger = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "motorpool"
EXTENSION_KEY = "motorpool.plugins"

#: Built-in plugins, as module paths; registered by the same code as installed plugins.
BUILTIN_PLUGINS: tuple[str, ...] = (
    "app.plugins.builtin.checklists",
    "app.plugins.builtin.weighted_matcher",
    "app.plugins.builtin.haversine",
    "app.plugins.builtin.notifiers",
    "app.plugins.builtin.email",
    "app.plugins.builtin.webhooks",
    "app.plugins.builtin.in_app",
    "app.plugins.builtin.alert_checks",
)


@dataclass
class PluginRecord:
    """What ``flask plugins list`` and the plugins page show about one plugin."""

    name: str
    origin: str  # "built-in" or the distribution that installed it
    version: str | None
    enabled: bool = True
    error: str | None = None
    hooks: list[str] = field(default_factory=list)
    #: What it contributed and Motorpool accepted, by kind ("matchers": ["weighted"], …).
    provides: dict[str, list[str]] = field(default_factory=dict)

    @property
    def builtin(self) -> bool:
        return self.origin == "built-in"

    @property
    def package(self) -> str:
        """The distribution (pip package) that installed it, or "built in"."""
        return "built in" if self.builtin else self.origin

    def provide(self, kind: str, name: str) -> None:
        self.provides.setdefault(kind, []).append(name)


def _new_manager() -> pluggy.PluginManager:
    manager = pluggy.PluginManager(PROJECT_NAME)
    manager.add_hookspecs(hookspecs)
    return manager


@dataclass
class PluginSystem:
    manager: pluggy.PluginManager
    inventory: pluggy.PluginManager
    records: dict[str, PluginRecord]
    strict: bool = False

    def call_each(self, hook_name: str, *, installed: bool = False, **kwargs: Any) -> list[tuple[str, Any]]:
        """Call every implementation of a hook on its own, as ``(plugin name, result)``.

        Implementations run in pluggy's order (``tryfirst`` … ``trylast``). One that raises
        is logged with its plugin's name and left out, so one broken plugin cannot take the
        others down; in strict mode it raises. ``installed=True`` asks disabled plugins too.
        """
        manager = self.inventory if installed else self.manager
        results = []
        for impl in reversed(getattr(manager.hook, hook_name).get_hookimpls()):
            try:
                result = impl.function(**{name: kwargs[name] for name in impl.argnames})
            except Exception as exc:
                if self.strict:
                    raise
                logger.exception("plugin %s failed in %s and was skipped", impl.plugin_name, hook_name)
                record = self.records.get(impl.plugin_name)
                if record is not None:
                    record.error = f"{hook_name}: {type(exc).__name__}: {exc}"
                continue
            if result is not None:
                results.append((impl.plugin_name, result))
        return results

    def first_result(self, hook_name: str, **kwargs: Any) -> tuple[str, Any] | None:
        """The first non-``None`` result of a *first result wins* hook, isolated like ``call_each``."""
        for plugin, result in self.call_each(hook_name, **kwargs):
            return plugin, result
        return None

    def notify(self, hook_name: str, **kwargs: Any) -> None:
        """Fire a lifecycle hook; results are ignored, failures isolated."""
        self.call_each(hook_name, **kwargs)


def plugin_system(app: Flask | None = None) -> PluginSystem:
    return (app or current_app).extensions[EXTENSION_KEY]


def _motorpool_version() -> str | None:
    try:
        return metadata.version("motorpool")
    except metadata.PackageNotFoundError:
        return None


def _sources() -> list[tuple[str, str, str | None, Any]]:
    """``(name, origin, version, module path or entry point)`` of every plugin to load."""
    version = _motorpool_version()
    sources: list[tuple[str, str, str | None, Any]] = [(path, "built-in", version, path) for path in BUILTIN_PLUGINS]
    for entry_point in metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = entry_point.dist
        sources.append((entry_point.name, dist.name if dist else "installed", dist.version if dist else None, entry_point))
    return sources


def load_plugins(app: Flask, blocked: set[str] | None = None) -> PluginSystem:
    """Create the plugin system for ``app`` and register every plugin it should load.

    A plugin that fails to import is recorded with its error and skipped, unless
    ``MOTORPOOL_STRICT_PLUGINS`` is set, in which case the error is raised.
    """
    blocked = blocked or set()
    system = PluginSystem(
        manager=_new_manager(),
        inventory=_new_manager(),
        records={},
        strict=bool(app.config.get("MOTORPOOL_STRICT_PLUGINS")),
    )
    for name, origin, version, source in _sources():
        record = PluginRecord(name=name, origin=origin, version=version, enabled=name not in blocked)
        system.records[name] = record
        try:
            module: ModuleType = importlib.import_module(source) if isinstance(source, str) else source.load()
            system.inventory.register(module, name=name)
            record.hooks = sorted(caller.name for caller in system.inventory.get_hookcallers(module) or [])
            if record.enabled:
                system.manager.register(module, name=name)
            else:
                system.manager.set_blocked(name)
        except Exception as exc:  # a broken plugin must not stop the application
            if system.strict:
                raise
            logger.exception("plugin %s failed to load and was skipped", name)
            record.enabled = False
            record.error = f"{type(exc).__name__}: {exc}"
    app.extensions[EXTENSION_KEY] = system
    return system
