"""Making test plugins discoverable as *installed* plugins (entry points of group ``motorpool``).

The loader's view of ``importlib.metadata`` is replaced by one that also lists them, so they
go through ``app.plugins.manager._sources`` and ``load_plugins`` exactly like a pip-installed
package.
"""

from __future__ import annotations

import sys
import types
import uuid
from importlib import metadata

import pytest

from app.plugins import manager as plugin_manager


class _LoaderMetadata:
    """``importlib.metadata`` as the plugin loader sees it, with entry points added or hidden."""

    def __init__(self) -> None:
        self.extra: list[metadata.EntryPoint] = []
        self.hidden: set[str] = set()

    def entry_points(self, **params):
        found = [ep for ep in metadata.entry_points(**params) if ep.name not in self.hidden]
        if params.get("group") == plugin_manager.ENTRY_POINT_GROUP:
            found += self.extra
        return found

    def __getattr__(self, name: str):
        return getattr(metadata, name)


class Plugins:
    """Installs test plugins as entry points of group ``motorpool`` (for apps built afterwards)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self._monkeypatch = monkeypatch
        self._metadata = _LoaderMetadata()
        monkeypatch.setattr(plugin_manager, "metadata", self._metadata)

    def add(self, name: str, plugin: object) -> object:
        """An entry point ``name = <module>:plugin`` whose module holds ``plugin``."""
        module_name = f"motorpool_test_plugin_{uuid.uuid4().hex[:10]}"
        module = types.ModuleType(module_name)
        module.plugin = plugin
        self._monkeypatch.setitem(sys.modules, module_name, module)
        self.add_entry_point(name, f"{module_name}:plugin")
        return plugin

    def add_entry_point(self, name: str, value: str) -> None:
        self._metadata.extra.append(
            metadata.EntryPoint(name=name, value=value, group=plugin_manager.ENTRY_POINT_GROUP)
        )

    def hide(self, name: str) -> None:
        """As if the distribution providing entry point ``name`` were not installed."""
        self._metadata.hidden.add(name)
