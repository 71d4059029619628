"""Money and moments are written one way on every page: the ``money`` and ``local_time`` filters."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask import render_template_string

from app import create_app
from app.config import check_currency
from tests.test_web import dispose, instance_dir, sqlite_config  # noqa: F401 - fixture


@pytest.mark.parametrize(("code", "written"), [("EUR", "€1,234.50"), ("gbp", "£1,234.50"), ("USD", "$1,234.50")])
def test_money_names_the_organisations_currency(instance_dir, tmp_path, code, written):  # noqa: F811
    app = create_app(sqlite_config(tmp_path, MOTORPOOL_CURRENCY=code))
    try:
        with app.test_request_context():
            assert render_template_string("{{ 1234.5|money }}") == written
            assert render_template_string("{{ none|money('—') }}") == "—"
    finally:
        dispose(app)


def test_an_unknown_currency_stops_start_up_with_what_to_set(instance_dir, tmp_path):  # noqa: F811
    with pytest.raises(ValueError, match="MOTORPOOL_CURRENCY must be an ISO 4217 currency code"):
        create_app(sqlite_config(tmp_path, MOTORPOOL_CURRENCY="dollars"))
    assert check_currency(" eur ") == "EUR"


def test_local_time_names_the_zone_and_says_what_is_missing(instance_dir, tmp_path):  # noqa: F811
    app = create_app(sqlite_config(tmp_path))
    try:
        with app.test_request_context():
            moment = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
            assert render_template_string("{{ m|local_time }}", m=moment) == "2026-03-29 00:30 UTC"
            assert render_template_string("{{ m|local_time('short', zone_name=False) }}", m=moment) == "29 Mar 00:30"
            assert render_template_string("{{ none|local_time(empty='No due date') }}") == "No due date"
    finally:
        dispose(app)
