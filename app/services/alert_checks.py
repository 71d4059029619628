"""The registry of metrics the alert check watches: built-in and plugin ``AlertCheck`` items.

Collected once at start-up from the ``motorpool_alert_checks`` hook into
``current_app.extensions[EXTENSION_KEY]`` (category → check).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from flask import current_app

from app.plugins.contracts import AlertCheck

EXTENSION_KEY = "motorpool.alert_checks"
DIRECTIONS = ("below", "above", "outside")
UNITS = ("%", "s", "h", "money", "count")
_CATEGORY = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


def registered_checks() -> dict[str, AlertCheck]:
    return current_app.extensions[EXTENSION_KEY]


def refusal(check: object, taken: Mapping[str, AlertCheck]) -> str | None:
    """Why a contributed check cannot be used, or None when it can."""
    if not isinstance(check, AlertCheck):
        return f"expected an AlertCheck, got {type(check).__name__}"
    if not _CATEGORY.match(check.category):
        return "the category must be lower-case letters, digits and underscores, starting with a letter (≤ 64)"
    if check.category in taken:
        return f"the category {check.category!r} is already provided"
    if check.direction not in DIRECTIONS:
        return f"direction must be one of {', '.join(DIRECTIONS)}"
    if check.unit not in UNITS:
        return f"unit must be one of {', '.join(UNITS)}"
    banded = check.direction == "outside"
    for name in ("warning", "critical"):
        value = getattr(check, name)
        if banded != isinstance(value, tuple):
            return f"{name} must be a (low, high) pair exactly when direction is 'outside'"
    if not callable(check.measure):
        return "measure must be callable"
    return None
