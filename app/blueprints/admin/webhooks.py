"""Webhook subscriptions: the list, creating one (its secret shown once), pausing, rotating
the secret, deleting, a test event, and each subscription's delivery log."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for

from app.blueprints.admin import bp
from app.blueprints.admin.helpers import is_htmx, render_htmx
from app.blueprints.inputs import query_int
from app.blueprints.security import roles_required
from app.extensions import db
from app.services import webhook_subscriptions as service
from app.services.errors import DomainError, NotFound, each_error
from app.services.events_feed import EVENT_TYPES


def _subscription_or_404(subscription_id: int):
    try:
        return service.get_subscription(subscription_id)
    except NotFound as error:
        abort(404, error.message)


def _list_page(*, typed: dict | None = None, errors: dict | None = None, secret: dict | None = None,
               error: str | None = None, status: int = 200):
    return render_template(
        "admin/webhooks.html", views=service.list_subscriptions(), event_types=EVENT_TYPES, typed=typed or {},
        errors=errors or {}, secret=secret, error=error,
    ), status


@bp.get("/webhooks")
@roles_required("admin")
def webhooks():
    return _list_page()


@bp.post("/webhooks")
@roles_required("admin")
def webhook_create():
    form = request.form
    typed = {"url": form.get("url", ""), "description": form.get("description", ""),
             "event_types": form.getlist("event_types")}
    try:
        subscription, secret = service.create_subscription(
            url=typed["url"], event_types=typed["event_types"], description=typed["description"])
    except DomainError as error:
        db.session.rollback()
        errors: dict[str, list[str]] = {}
        for single in each_error(error):
            errors.setdefault(single.field or "", []).append(single.message)
        return _list_page(typed=typed, errors=errors, status=422)
    # Rendered, not redirected: the secret must not travel through the session cookie's flash.
    return _list_page(secret={"subscription": subscription, "value": secret, "made": "created"}, status=201)


def _list_fragment_or_page(error: str | None = None, status: int = 200):
    if is_htmx():
        return render_template("admin/_webhooks_table.html", views=service.list_subscriptions(), error=error), status
    if error:
        return _list_page(error=error, status=status)
    return redirect(url_for("admin.webhooks"))


@bp.post("/webhooks/<int:subscription_id>/active")
@roles_required("admin")
def webhook_active(subscription_id: int):
    subscription = _subscription_or_404(subscription_id)
    active = request.form.get("active") == "1"
    try:
        service.set_active(subscription.id, active)
    except DomainError as error:
        db.session.rollback()
        return _list_fragment_or_page(error.message, 422)
    if not is_htmx():
        flash(f"Subscription #{subscription.id} is {'active again' if active else 'paused'}.", "info")
    return _list_fragment_or_page()


@bp.post("/webhooks/<int:subscription_id>/rotate")
@roles_required("admin")
def webhook_rotate(subscription_id: int):
    subscription = _subscription_or_404(subscription_id)
    subscription, secret = service.rotate_secret(subscription.id)
    return _list_page(secret={"subscription": subscription, "value": secret, "made": "rotated"})


@bp.get("/webhooks/<int:subscription_id>/delete")
@roles_required("admin")
def webhook_delete_confirm(subscription_id: int):
    subscription = _subscription_or_404(subscription_id)
    return render_template("admin/webhook_delete.html", subscription=subscription,
                           pending=service.delivery_log(subscription.id, per_page=1).total)


@bp.post("/webhooks/<int:subscription_id>/delete")
@roles_required("admin")
def webhook_delete(subscription_id: int):
    subscription = _subscription_or_404(subscription_id)
    if request.form.get("confirm") != "yes":
        return render_template("admin/webhook_delete.html", subscription=subscription,
                               pending=service.delivery_log(subscription.id, per_page=1).total,
                               error="Tick the box to confirm: deleting cannot be undone."), 422
    url = service.delete_subscription(subscription.id)
    flash(f"Subscription #{subscription_id} to {url} is deleted with its delivery log.", "info")
    return redirect(url_for("admin.webhooks"))


@bp.post("/webhooks/<int:subscription_id>/test")
@roles_required("admin")
def webhook_test(subscription_id: int):
    subscription = _subscription_or_404(subscription_id)
    try:
        row = service.send_test(subscription.id)
    except DomainError as error:
        db.session.rollback()
        return _list_page(error=error.message, status=422)
    flash(f"A test event ({row.public_id}) is queued; the worker sends it on its next round.", "info")
    return redirect(url_for("admin.webhook_log", subscription_id=subscription.id))


def _log_context(subscription, error: str | None = None) -> dict:
    page = service.delivery_log(subscription.id, page=query_int("page", label="The page") or 1,
                                per_page=current_app.config.get("ADMIN_DELIVERIES_PER_PAGE", 50))
    return {"subscription": subscription, "page": page, "error": error, "event_types": EVENT_TYPES}


@bp.get("/webhooks/<int:subscription_id>")
@roles_required("admin")
def webhook_log(subscription_id: int):
    subscription = _subscription_or_404(subscription_id)
    return render_htmx("admin/_webhook_log_table.html", "admin/webhook_log.html", **_log_context(subscription))


@bp.post("/webhooks/<int:subscription_id>/deliveries/<public_id>/retry")
@roles_required("admin")
def webhook_delivery_retry(subscription_id: int, public_id: str):
    subscription = _subscription_or_404(subscription_id)
    try:
        row = service.retry_delivery(subscription.id, public_id)
    except DomainError as error:
        db.session.rollback()
        return render_template("admin/webhook_log.html", **_log_context(subscription, error.message)), error.http_status
    flash(f"Delivery {row.public_id} is due again now; the worker sends it on its next round.", "info")
    return redirect(url_for("admin.webhook_log", subscription_id=subscription.id, page=request.form.get("page") or None))
