"""How pages show moments and money: one filter each, so every page writes them alike.

Stored times are UTC. ``display_zone()`` decides which zone a page shows them in; every
template renders a datetime through the ``local_time`` filter, never ``strftime``, and an
amount of money through ``money``, which names the organisation's currency
(``MOTORPOOL_CURRENCY``).
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo

from babel.numbers import format_currency, get_currency_symbol
from flask import Flask, current_app

#: Named formats; templates pick one by name so the look stays consistent.
FORMATS = {
    "datetime": "%Y-%m-%d %H:%M",
    "short": "%d %b %H:%M",
    "seconds": "%Y-%m-%d %H:%M:%S",
    "date": "%Y-%m-%d",
}


def display_zone() -> tzinfo:
    """The zone the current request shows times in."""
    return UTC


def local_time(moment: datetime | None, style: str = "datetime", *, zone_name: bool = True, empty: str = "") -> str:
    """``moment`` in the display zone, in the named format, followed by the zone's abbreviation."""
    if moment is None:
        return empty
    if moment.tzinfo is None:  # naive values are UTC by the storage rule
        moment = moment.replace(tzinfo=UTC)
    local = moment.astimezone(display_zone())
    text = local.strftime(FORMATS[style])
    return f"{text} {local.tzname()}" if zone_name and style != "date" else text


def currency_code() -> str:
    return current_app.config["MOTORPOOL_CURRENCY"]


def currency_symbol() -> str:
    """The symbol form labels use, e.g. "Hourly rate (€)"."""
    return get_currency_symbol(currency_code(), locale="en")


def money(amount: float | None, empty: str = "") -> str:
    """``amount`` in the organisation's currency, e.g. "€1,234.50"."""
    if amount is None:
        return empty
    return format_currency(amount, currency_code(), locale="en")


def register(app: Flask) -> None:
    app.add_template_filter(local_time, "local_time")
    app.add_template_filter(money, "money")
    app.add_template_global(currency_symbol, "currency_symbol")
