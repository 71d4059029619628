"""Builds an application's plugin manager: built-in plugins, then installed ones."""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass, field
from importlib import metadata
from types import ModuleType
from typing import Any

import pluggy
from flask import Flask

from app.plugins import PROJECT_NAME, hookspecs

logger = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "motorpool"
EXTENSION_KEY = "motorpool.plugins"

#: Built-in plugins, as module paths; registered by the same code as installed plugins.
BUILTIN_PLUGINS: tuple[str, ...] = ("app.plugins.builtin.checklists",)


@dataclass
class PluginRecord:
    """What the plugin listing shows about one plugin."""

    name: str
    origin: str  # "built-in" or the distribution that installed it
    version: str | None
    enabled: bool = True
    error: str | None = None
    hooks: list[str] = field(default_factory=list)


@dataclass
class PluginSystem:
    manager: pluggy.PluginManager
    records: dict[str, PluginRecord]
    strict: bool = False

    def call_each(self, hook_name: str, **kwargs: Any) -> list[tuple[str, Any]]:
        """Call every implementation of a hook on its own, as ``(plugin name, result)``.

        An implementation that raises is logged with its plugin's name and left out, so
        one broken plugin cannot take the others down; in strict mode it raises.
        """
        results = []
        for impl in reversed(getattr(self.manager.hook, hook_name).get_hookimpls()):
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


def _motorpool_version() -> str | None:
    try:
        return metadata.version("motorpool")
    except metadata.PackageNotFoundError:
        return None


def _register(
    system: PluginSystem, name: str, module: ModuleType | object, origin: str, version: str | None, blocked: set[str]
) -> None:
    record = PluginRecord(name=name, origin=origin, version=version)
    system.records[name] = record
    if name in blocked:
        record.enabled = False
        system.manager.set_blocked(name)
        return
    system.manager.register(module, name=name)
    record.hooks = sorted(caller.name for caller in system.manager.get_hookcallers(module) or [])


def load_plugins(app: Flask, blocked: set[str] | None = None) -> PluginSystem:
    """Create the plugin manager for ``app`` and register every plugin it should load.

    A plugin that fails to import is recorded with its error and skipped, unless
    ``MOTORPOOL_STRICT_PLUGINS`` is set, in which case the error is raised.
    """
    blocked = blocked or set()
    strict = bool(app.config.get("MOTORPOOL_STRICT_PLUGINS"))
    manager = pluggy.PluginManager(PROJECT_NAME)
    manager.add_hookspecs(hookspecs)
    system = PluginSystem(manager=manager, records={}, strict=strict)

    sources: list[tuple[str, str, str | None, object]] = [
        (path, "built-in", _motorpool_version(), path) for path in BUILTIN_PLUGINS
    ]
    for entry_point in metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = entry_point.dist
        sources.append(
            (entry_point.name, dist.name if dist else "installed", dist.version if dist else None, entry_point)
        )

    for name, origin, version, source in sources:
        try:
            if name in blocked:
                module = None
            elif isinstance(source, str):
                module = importlib.import_module(source)
            else:
                module = source.load()  # type: ignore[attr-defined]
            _register(system, name, module, origin, version, blocked)
        except Exception as exc:  # a broken plugin must not stop the application
            if strict:
                raise
            logger.exception("plugin %s failed to load and was skipped", name)
            system.records[name] = PluginRecord(
                name=name, origin=origin, version=version, enabled=False, error=f"{type(exc).__name__}: {exc}"
            )
    app.extensions[EXTENSION_KEY] = system
    return system
