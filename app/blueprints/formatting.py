"""How pages show moments and money: one filter each, so every page writes them alike.

Stored times are UTC. ``display_zone()`` decides which zone a page shows them in (the
signed-in user's, else the organisation's: ``app.services.local_time``); every
template renders a datetime through the ``local_time`` filter, never ``strftime``, and an
amount of money through ``money``, which names the organisation's currency
(``MOTORPOOL_CURRENCY``).
"""

from __future__ import annotations

from datetime import datetime, tzinfo

from babel.numbers import format_currency, get_currency_symbol
from flask import Flask, current_app

from app.services import local_time as zones


def display_zone() -> tzinfo:
    """The zone the current request shows times in: the signed-in user's, else the organisation's."""
    return zones.current_zone()


def zone_label() -> str:
    """The display zone's name for labels and table headers, e.g. "Europe/Berlin"."""
    return zones.zone_label(display_zone())


def zone_label_of(user) -> str:
    """The name of ``user``'s zone (theirs, else the organisation's), e.g. for a technician's shift."""
    return zones.zone_label(zones.zone_of(user))


def local_time(moment: datetime | None, style: str = "datetime", *, zone_name: bool = True, empty: str = "") -> str:
    """``moment`` in the display zone, in the named format, followed by the zone's abbreviation."""
    return zones.format_local(moment, style, zone=display_zone(), zone_name=zone_name, empty=empty)


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
    app.add_template_global(zone_label, "zone_label")
    app.add_template_global(zone_label_of, "zone_label_of")
