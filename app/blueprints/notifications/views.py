"""The signed-in user's in-app notifications (the bell): the list, marking one or all read."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from app.blueprints.dispatches.helpers import is_htmx
from app.blueprints.inputs import query_int
from app.blueprints.notifications import bp
from app.extensions import db
from app.services import user_notifications as service
from app.services.errors import DomainError


@bp.app_context_processor
def _bell():
    def unread_notifications() -> str | None:
        """The bell's count for the signed-in user ("" when none), one query per page."""
        if not current_user.is_authenticated:
            return None
        count = service.unread_count(current_user)
        return service.badge(count) if count else ""

    return {"unread_notifications": unread_notifications}


def _list(page_number: int, *, fragment: bool, error: str | None = None, status: int = 200):
    page = service.page_for(current_user, page_number)
    template = "notifications/_list.html" if fragment else "notifications/index.html"
    return render_template(template, page=page, error=error, oob_bell=fragment), status


@bp.get("/")
@login_required
def index():
    return _list(query_int("page", label="The page number") or 1, fragment=False)


@bp.post("/<int:notification_id>/read")
@login_required
def mark_read(notification_id: int):
    page_number = query_int("page", label="The page number") or 1
    try:
        service.mark_read(current_user, notification_id)
    except DomainError as error:
        db.session.rollback()
        return _list(page_number, fragment=is_htmx(), error=error.message, status=404)
    if is_htmx():
        return _list(page_number, fragment=True)
    return redirect(url_for("notifications.index", page=page_number))


@bp.post("/read-all")
@login_required
def mark_all_read():
    count = service.mark_all_read(current_user)
    if is_htmx():
        return _list(1, fragment=True)
    flash(f"Marked {count} notification{'s' if count != 1 else ''} read." if count else "Nothing was unread.", "info")
    return redirect(url_for("notifications.index"))
