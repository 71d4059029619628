"""The plugins page: what is loaded, and enabling or disabling a plugin for the next start."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for

from app.blueprints.admin import bp
from app.blueprints.admin.helpers import posted_flag
from app.blueprints.security import roles_required
from app.extensions import db
from app.services import plugins as service
from app.services.errors import DomainError


def _plugins_page(error: str | None = None, status: int = 200):
    from app.services.channel_settings import channel_settings

    return render_template("admin/plugins.html", entries=service.plugin_inventory(), channels=channel_settings(),
                           error=error), status


@bp.get("/plugins")
@roles_required("admin")
def plugins():
    return _plugins_page()


@bp.post("/plugins")
@roles_required("admin")
def plugin_state():
    name = request.form.get("name", "")
    enabled = posted_flag("enabled")
    try:
        restart = service.set_enabled(name, enabled)
    except DomainError as error:
        db.session.rollback()
        return _plugins_page(error.message, 422)
    state = "enabled" if enabled else "disabled"
    if restart:
        flash(f"{name} will be {state} when the application is restarted; plugins are applied at start-up.", "info")
    else:
        flash(f"{name} stays {state}.", "info")
    return redirect(url_for("admin.plugins"))
