"""The health page: what ``flask doctor`` and ``/healthz`` know, for admins in the browser."""

from __future__ import annotations

from flask import render_template

from app.blueprints.admin import bp
from app.blueprints.security import roles_required
from app.services import health


@bp.get("/health")
@roles_required("admin")
def health_page():
    return render_template("admin/health.html", report=health.details())
