"""The plugins page: what is loaded, and enabling or disabling a plugin for the next start."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from app.blueprints.admin import bp
from app.blueprints.admin.helpers import posted_flag
from app.blueprints.security import roles_required
from app.extensions import db
from app.models import PluginSetting
from app.models.dispatching.build import detail_types
from app.services import plugins as service
from app.services.errors import DomainError


def _plugins_page(error: str | None = None, status: int = 200):
    records = service.list_plugins()
    stored = dict(db.session.execute(select(PluginSetting.name, PluginSetting.enabled)).all())
    from_environment = {
        name.strip() for name in current_app.config.get("MOTORPOOL_DISABLED_PLUGINS", "").split(",") if name.strip()
    }
    provided: dict[str, list[str]] = {}
    for detail_type in detail_types():
        provided.setdefault(detail_type.plugin, []).append(detail_type.label)
    rows = []
    for record in records:
        wanted = stored.get(record.name, True) and record.name not in from_environment
        if record.name in service.ESSENTIAL:
            wanted = True
        rows.append({
            "record": record,
            "essential": record.name in service.ESSENTIAL,
            "stored": stored.get(record.name, True),
            "by_environment": record.name in from_environment and record.name not in service.ESSENTIAL,
            "restart_needed": record.error is None and wanted != record.enabled,
            "detail_types": provided.get(record.name, []),
        })
    return render_template("admin/plugins.html", rows=rows, error=error), status


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
