"""Settings that plugins declare with ``motorpool_settings``, read the way core reads its own.

A declared setting takes, from lowest to highest precedence: its declared default, the
value in ``instance/config.py``, the environment variable of the same name, and the
mapping given to ``create_app`` (tests). The value is converted to the declared type and
stored in ``app.config`` under its name; ``plugin_setting(name)`` reads it back.

Names start with ``MOTORPOOL_PLUGIN_<PLUGIN NAME>_``, a prefix core never uses, so a plugin
can neither change a core setting nor another plugin's.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app

from app.plugins.contracts import Setting

EXTENSION_KEY = "motorpool.plugin_settings"
PREFIX = "MOTORPOOL_PLUGIN_"
TYPES: dict[type, str] = {str: "text", int: "a whole number", float: "a number", bool: "true or false"}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class PluginSettingError(ValueError):
    """A plugin's setting is declared wrongly, or is given a value of the wrong type."""


@dataclass(frozen=True)
class DeclaredSetting:
    plugin: str
    setting: Setting
    source: str  # where the value came from: "default", "instance/config.py", "environment", "application"


def prefix_for(plugin: str) -> str:
    """``MOTORPOOL_PLUGIN_TRAILERS_`` for plugin ``trailers`` (letters and digits kept, the rest ``_``)."""
    return PREFIX + re.sub(r"[^A-Z0-9]+", "_", plugin.upper()).strip("_") + "_"


def _check_declaration(plugin: str, setting: Any, declared: Mapping[str, DeclaredSetting],
                       core_names: set[str]) -> Setting:
    if not isinstance(setting, Setting):
        raise PluginSettingError(f"plugin {plugin!r} declared {setting!r}; declare app.plugins.contracts.Setting objects")
    name, prefix = setting.name, prefix_for(plugin)
    if not isinstance(name, str):
        raise PluginSettingError(f"plugin {plugin!r} declared a setting named {name!r}; a name is text, {prefix}…")
    if name in core_names and not name.startswith(PREFIX):
        raise PluginSettingError(
            f"plugin {plugin!r} declared the setting {name}, which is a core setting; "
            f"plugin settings are named {prefix}…"
        )
    if not re.fullmatch(re.escape(prefix) + r"[A-Z0-9_]+", name):
        raise PluginSettingError(
            f"plugin {plugin!r} declared the setting {name!r}; its settings must be named {prefix}… "
            "(upper-case letters, digits and _)"
        )
    if name in declared:
        raise PluginSettingError(
            f"plugin {plugin!r} declared the setting {name}, already declared by plugin {declared[name].plugin!r}"
        )
    if not (isinstance(setting.type, type) and setting.type in TYPES):
        raise PluginSettingError(f"plugin {plugin!r} declared {name} of type {setting.type!r}; use str, int, float or bool")
    if setting.default is not None:
        _convert(setting, setting.default, f"the default declared by plugin {plugin!r}")
    return setting


def _convert(setting: Setting, value: Any, source: str) -> Any:
    """``value`` as ``setting.type``; text (environment) is parsed, other values must have the type."""
    if value is None:
        return None
    kind = setting.type
    wrong = PluginSettingError(f"{setting.name} (from {source}) must be {TYPES[kind]}, not {value!r}")
    if isinstance(value, str) and kind is not str:
        text = value.strip().lower()
        if kind is bool:
            if text in _TRUE | _FALSE:
                return text in _TRUE
            raise PluginSettingError(
                f"{setting.name} (from {source}) must be true or false (1/0, yes/no, on/off), not {value!r}"
            )
        try:
            number = kind(text)
        except ValueError:
            raise wrong from None
        if kind is float and not math.isfinite(number):
            raise wrong
        return number
    if kind is bool:
        if isinstance(value, bool):
            return value
        raise wrong
    if isinstance(value, bool):  # True is an int to Python, not a number to an operator
        raise wrong
    if kind is float and isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    if isinstance(value, kind):
        return value
    raise wrong


def apply_plugin_settings(
    app: Flask,
    declarations: Iterable[tuple[str, Iterable[Any]]],
    environ: Mapping[str, str],
    given: set[str],
    core_names: set[str],
    on_error: Callable[[str, Exception], None] | None = None,
) -> dict[str, DeclaredSetting]:
    """Check each plugin's declarations and put each setting's value into ``app.config``.

    ``given`` are the names passed to ``create_app`` (they win over everything); a name
    already in ``app.config`` otherwise came from ``instance/config.py``. A wrong
    declaration is the plugin's fault: ``on_error(plugin, error)`` is told and the setting
    left out (without ``on_error`` it raises). A wrong *value* is the operator's: it always
    raises, and the message names the setting, where the value came from and what it must be.
    """
    declared: dict[str, DeclaredSetting] = {}
    for plugin, settings in declarations:
        for setting in settings:
            try:
                setting = _check_declaration(plugin, setting, declared, core_names)
            except PluginSettingError as error:
                if on_error is None:
                    raise
                on_error(plugin, error)
                continue
            value, source = setting.default, "default"
            if setting.name in given:
                value, source = app.config[setting.name], "the application's configuration"
            elif environ.get(setting.name):
                value, source = environ[setting.name], "the environment"
            elif setting.name in app.config:
                value, source = app.config[setting.name], "instance/config.py"
            app.config[setting.name] = _convert(setting, value, source)
            declared[setting.name] = DeclaredSetting(plugin, setting, source)
    return declared


def plugin_setting(name: str) -> Any:
    """The value of a declared plugin setting (inside an application context)."""
    declared = current_app.extensions[EXTENSION_KEY]
    if name not in declared:
        raise KeyError(f"{name} is not a declared plugin setting; declare it in your plugin's motorpool_settings()")
    return current_app.config[name]
