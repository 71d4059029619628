"""The delivery log (dead letters, retry now) and each channel's routing."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for

from app.blueprints.admin import bp
from app.blueprints.admin.helpers import render_htmx
from app.blueprints.inputs import query_int
from app.blueprints.security import roles_required
from app.extensions import db
from app.models import DeliveryStatus, Role
from app.plugins.contracts import SEVERITIES
from app.services import delivery_worker
from app.services import notifications as service
from app.services.errors import DomainError, NotFound, each_error

STATUSES = [s.value for s in DeliveryStatus]


# --- The delivery log --------------------------------------------------------------------------


def _log_context(error: str | None = None) -> dict:
    status = request.args.get("status", "")
    channel = request.args.get("channel", "")
    channels = list(service.load_routes())
    filters = {
        "status": status if status in STATUSES else "",
        "channel": channel if channel in channels else "",
        "page": query_int("page", label="The page") or 1,
    }
    result = delivery_worker.delivery_page(
        status=filters["status"] or None, channel=filters["channel"] or None, page=filters["page"],
        per_page=current_app.config.get("ADMIN_DELIVERIES_PER_PAGE", 50),
    )
    return {"page": result, "filters": filters, "statuses": STATUSES, "channels": channels,
            "counts": delivery_worker.status_counts(), "error": error}


@bp.get("/deliveries")
@roles_required("admin")
def deliveries():
    return render_htmx("admin/_deliveries_table.html", "admin/deliveries.html", **_log_context())


def _back_to_log():
    # Back to the same filters and page the admin was looking at.
    args = {name: request.form.get(name) for name in ("status", "channel", "page") if request.form.get(name)}
    return redirect(url_for("admin.deliveries", **args))


@bp.post("/deliveries/<public_id>/retry")
@roles_required("admin")
def delivery_retry(public_id: str):
    try:
        row = delivery_worker.retry_now(public_id)
    except DomainError as error:
        db.session.rollback()
        return render_template("admin/deliveries.html", **_log_context(error.message)), 422
    flash(f"Delivery {row.public_id} ({row.channel}) is due again now; the worker sends it on its next round.", "info")
    return _back_to_log()


@bp.post("/deliveries/retry-dead")
@roles_required("admin")
def deliveries_retry_dead():
    count = delivery_worker.retry_all_dead()
    flash(f"{count} dead {'delivery is' if count == 1 else 'deliveries are'} due again now." if count
          else "There are no dead deliveries to retry.", "info")
    return _back_to_log()


# --- Channels ------------------------------------------------------------------------------------


def _channels_page(typed: dict | None = None, errors: dict | None = None, status: int = 200,
                   error: str | None = None):
    routes = service.load_routes()
    return render_template(
        "admin/channels.html", routes=routes, severities=SEVERITIES, categories=service.known_categories(),
        roles=[r.value for r in Role], typed=typed or {}, errors=errors or {}, changes=service.channel_changes(),
        error=error,
    ), status


@bp.get("/channels")
@roles_required("admin")
def channels():
    return _channels_page()


@bp.post("/channels/<name>")
@roles_required("admin")
def channel_save(name: str):
    form = request.form
    typed = {
        "name": name,
        "enabled": form.get("enabled") == "1",
        "min_severity": form.get("min_severity", ""),
        "categories": form.getlist("categories"),
        "roles": form.getlist("roles"),
        "addresses": form.get("addresses", ""),
    }
    try:
        service.save_channel(name, enabled=typed["enabled"], min_severity=typed["min_severity"],
                             categories=typed["categories"], roles=typed["roles"],
                             addresses=service.parse_addresses(typed["addresses"]))
    except NotFound as error:
        db.session.rollback()
        return _channels_page(status=404, error=error.message)
    except DomainError as error:
        db.session.rollback()
        errors: dict[str, list[str]] = {}
        for single in each_error(error):
            errors.setdefault(single.field or "", []).append(single.message)
        return _channels_page(typed, errors, 422)
    flash(f"Channel {name} saved.", "info")
    return redirect(url_for("admin.channels"))
