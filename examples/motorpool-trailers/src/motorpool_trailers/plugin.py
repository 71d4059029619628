"""The plugin module named by the entry point: every hook this plugin implements."""

from __future__ import annotations

import email.utils
import json
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import click
import numpy as np
from flask import Blueprint, render_template_string
from flask.cli import AppGroup

from app.blueprints.security import roles_required
from app.plugins import hookimpl
from app.plugins.contracts import (
    DeliveryAttempt,
    MatchOutcome,
    NavLink,
    Notification,
    PermanentDeliveryError,
    RankedCandidate,
    RetryableDeliveryError,
    Setting,
)
from app.plugins.settings import plugin_setting

from motorpool_trailers.models import TrailerInspection

MIGRATIONS = Path(__file__).resolve().parent / "migrations" / "versions"


# --- Settings ------------------------------------------------------------------------------

WEBHOOK_URL = "MOTORPOOL_PLUGIN_TRAILERS_WEBHOOK_URL"
WEBHOOK_TIMEOUT = "MOTORPOOL_PLUGIN_TRAILERS_WEBHOOK_TIMEOUT"


@hookimpl
def motorpool_settings():
    return [
        Setting(WEBHOOK_URL, None, str, "Where the webhook channel POSTs each notification as JSON."),
        Setting(WEBHOOK_TIMEOUT, 5.0, float, "Seconds to wait for the webhook to answer."),
    ]


# --- Data model ---------------------------------------------------------------------------


@hookimpl
def motorpool_dispatch_detail_types():
    return [TrailerInspection]


@hookimpl
def motorpool_migration_directories():
    return [str(MIGRATIONS)]


# --- Matching -----------------------------------------------------------------------------


class NearestMatcher:
    """The closest technician who passes the hard constraints; ignores skills and load."""

    def rank(self, pool, request, distances_km, settings, limit=20) -> MatchOutcome:
        from app.matching import hard_constraints

        eligible = np.flatnonzero(hard_constraints(pool, request))
        if distances_km is None:
            distances_km = np.zeros(len(pool))
        distance = np.nan_to_num(np.asarray(distances_km, dtype=float)[eligible], nan=np.inf)
        order = eligible[np.lexsort((pool.technician_ids[eligible], distance))][:limit]
        nearest = distance.min() if distance.size else 0.0
        ranked = [
            RankedCandidate(
                technician_id=int(pool.technician_ids[i]),
                score=float(1.0 / (1.0 + max(0.0, float(distances_km[i]) - nearest))),
                breakdown={"distance_km": round(float(distances_km[i]), 3)},
            )
            for i in order
        ]
        return MatchOutcome(ranked=ranked)


@hookimpl
def motorpool_matchers():
    return {"nearest": NearestMatcher()}


# --- Notifications ------------------------------------------------------------------------


class WebhookNotifier:
    """POSTs each notification as JSON to ``MOTORPOOL_PLUGIN_TRAILERS_WEBHOOK_URL``.

    2xx is delivered. 408, 429, 5xx, a timeout or a refused connection is retried later
    (``Retry-After`` honoured); any other 4xx cannot succeed by retrying: dead at once. The
    ``webhook-id`` header is the delivery id, the same on every retry, for de-duplication.
    """

    def send(self, notification: Notification, attempt: DeliveryAttempt | None = None) -> None:
        url = plugin_setting(WEBHOOK_URL)  # send runs inside an application context
        if not url:
            raise RetryableDeliveryError(f"{WEBHOOK_URL} is not set")
        payload = {
            "kind": notification.kind, "subject": notification.subject, "body": notification.body,
            "recipients": list(notification.recipients), "severity": notification.severity,
            "dispatch_number": notification.dispatch_number, "category": notification.category,
        }
        headers = {"Content-Type": "application/json"}
        if attempt is not None:
            payload["id"] = attempt.delivery_id
            headers["webhook-id"] = attempt.delivery_id
        request = urllib.request.Request(url, data=json.dumps(payload).encode(), headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=plugin_setting(WEBHOOK_TIMEOUT)) as response:
                status = response.status
        except urllib.error.HTTPError as error:
            error.close()
            status = error.code
            if status in (408, 429) or status >= 500:
                raise RetryableDeliveryError(f"webhook answered {status}", retry_after(error.headers)) from None
            raise PermanentDeliveryError(f"webhook answered {status}; check the URL and the receiver") from None
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise RetryableDeliveryError(f"webhook not reachable: {reason}") from None
        if not 200 <= status < 300:
            raise PermanentDeliveryError(f"webhook answered {status}")

    def probe(self) -> None:
        """Raises when the URL is not set or not http(s)."""
        url = plugin_setting(WEBHOOK_URL)
        if not url:
            raise RuntimeError(f"{WEBHOOK_URL} is not set; set it to the receiver's http(s) URL")
        if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
            raise RuntimeError(f"{WEBHOOK_URL} must be an http or https URL, not {url!r}")


def retry_after(headers) -> float | None:
    """Seconds the receiver asked to wait (``Retry-After``: seconds or an HTTP date), if any."""
    value = (headers or {}).get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


@hookimpl
def motorpool_notifiers():
    return {"trailers_webhook": WebhookNotifier()}


# --- Lifecycle ----------------------------------------------------------------------------

_created: dict[str, int] = {"trailer_dispatches": 0}


@hookimpl
def motorpool_dispatch_created(dispatch):
    if any(detail.table_name == TrailerInspection.__tablename__ for detail in dispatch.all_details):
        _created["trailer_dispatches"] += 1


# --- Web ----------------------------------------------------------------------------------


def inspection_counts() -> tuple[int, int]:
    """(all trailer inspections, signed-off ones)."""
    from sqlalchemy import func, select

    from app.extensions import db

    total = db.session.scalar(select(func.count()).select_from(TrailerInspection))
    done = db.session.scalar(
        select(func.count()).select_from(TrailerInspection).where(TrailerInspection.completed_date.is_not(None))
    )
    return total, done


bp = Blueprint("trailers", __name__, url_prefix="/trailers")


@bp.get("/")
@roles_required("admin", "manager")
def index():
    total, done = inspection_counts()
    return render_template_string(
        '{% extends "base.html" %}{% block content %}<h1>Trailer inspections</h1>'
        "<p>{{ done }} of {{ total }} signed off.</p>{% endblock %}",
        total=total, done=done,
    )


@hookimpl
def motorpool_blueprints():
    return [bp]


@hookimpl
def motorpool_navigation_links(user):
    if user.role in ("admin", "manager"):
        return [NavLink("Trailers", "trailers.index", order=50)]
    return []


# --- Command line -------------------------------------------------------------------------

trailers_cli = AppGroup("trailers", help="Trailer inspections (example plugin).")


@trailers_cli.command("stats")
def stats():
    """How many trailer inspections exist and are signed off."""
    total, done = inspection_counts()
    click.echo(f"trailer inspections: {total}, signed off: {done}, created since start: {_created['trailer_dispatches']}")


@trailers_cli.command("configure")
@click.argument("asset_type_name")
def configure(asset_type_name):
    """Give an asset type the trailer inspection checklist."""
    from sqlalchemy import select

    from app.cli import as_system
    from app.extensions import db
    from app.models import AssetType
    from app.services.detail_sets import add_type_to_asset_type

    @as_system
    def run():
        asset_type = db.session.scalar(select(AssetType).where(AssetType.name == asset_type_name))
        if asset_type is None:
            raise click.ClickException(f"There is no asset type {asset_type_name!r}.")
        add_type_to_asset_type(asset_type, TrailerInspection.detail_type)
        click.echo(f"{asset_type_name} dispatches now get a trailer inspection.")

    run()


@hookimpl
def motorpool_cli_commands():
    return [trailers_cli]
