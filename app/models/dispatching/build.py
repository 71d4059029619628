"""Builds the registry of dispatch detail types from what the plugins contribute.

Detail table sets store a detail type as a string key (``"vehicle_dispatch"``). This
registry is the one place that turns such a key into the model class whose rows a new
dispatch gets. It is built per application from the ``motorpool_dispatch_detail_types``
hook, so a type shipped by a plugin is looked up exactly like a built-in one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from flask import current_app

from app.models.dispatching.dispatch_detail_virtual import DispatchDetailVirtual

EXTENSION_KEY = "motorpool.detail_types"


class DetailTypeError(Exception):
    """A contributed detail type is malformed or clashes with another one."""


@dataclass(frozen=True)
class DetailType:
    key: str
    model: type[DispatchDetailVirtual]
    plugin: str

    @property
    def label(self) -> str:
        return self.model.label

    @property
    def table_name(self) -> str:
        return self.model.__tablename__


class DetailTypeRegistry:
    def __init__(self) -> None:
        self._by_key: dict[str, DetailType] = {}
        self._by_table: dict[str, DetailType] = {}

    def register(self, model: type[DispatchDetailVirtual], plugin: str) -> DetailType:
        if not (isinstance(model, type) and issubclass(model, DispatchDetailVirtual)):
            raise DetailTypeError(f"{model!r} from plugin {plugin!r} is not a DispatchDetailVirtual subclass")
        key = getattr(model, "detail_type", None)
        if not key or not isinstance(key, str):
            raise DetailTypeError(f"{model.__name__} from plugin {plugin!r} has no 'detail_type' key")
        if not getattr(model, "label", None):
            raise DetailTypeError(f"{model.__name__} from plugin {plugin!r} has no 'label'")
        existing = self._by_key.get(key)
        if existing is not None:
            if existing.model is model:
                return existing
            raise DetailTypeError(
                f"detail type {key!r} from plugin {plugin!r} is already provided by plugin {existing.plugin!r}"
            )
        # Keys and labels are names people pick in the admin pages: unique whatever their case.
        for other in self._by_key.values():
            if other.key.lower() == key.lower():
                raise DetailTypeError(f"detail type {key!r} from plugin {plugin!r} differs only by case from "
                                      f"{other.key!r}, provided by plugin {other.plugin!r}")
            if other.label.lower() == model.label.lower():
                raise DetailTypeError(f"detail type {key!r} from plugin {plugin!r} has the label {model.label!r}, "
                                      f"already used by {other.key!r} from plugin {other.plugin!r}")
        detail_type = DetailType(key=key, model=model, plugin=plugin)
        self._by_key[key] = detail_type
        self._by_table[detail_type.table_name] = detail_type
        return detail_type

    def get(self, key: str) -> DetailType | None:
        return self._by_key.get(key)

    def by_table_name(self, table_name: str) -> DetailType | None:
        return self._by_table.get(table_name)

    def keys(self) -> list[str]:
        return sorted(self._by_key)

    def __contains__(self, key: object) -> bool:
        return key in self._by_key

    def __iter__(self) -> Iterator[DetailType]:
        return iter(sorted(self._by_key.values(), key=lambda t: t.label))

    def __len__(self) -> int:
        return len(self._by_key)


def build_detail_type_registry(
    contributions: Iterable[tuple[str, Iterable[type[DispatchDetailVirtual]]]],
    on_error: Callable[[str, DetailTypeError], None] | None = None,
) -> DetailTypeRegistry:
    """A registry from ``(plugin name, detail classes)`` pairs, in plugin order.

    A malformed or clashing type raises, unless ``on_error`` is given: it is then told
    (plugin name, error) and the type is left out, so one bad plugin cannot stop the app.
    """
    registry = DetailTypeRegistry()
    for plugin, models in contributions:
        for model in models:
            try:
                registry.register(model, plugin)
            except DetailTypeError as error:
                if on_error is None:
                    raise
                on_error(plugin, error)
    return registry


def detail_types() -> DetailTypeRegistry:
    """The detail type registry of the running application."""
    return current_app.extensions[EXTENSION_KEY]
