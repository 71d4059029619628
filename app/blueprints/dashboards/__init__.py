"""Dashboards for managers and admins: the technicians at a glance with live tiles, and assignment analytics."""
from flask import Blueprint

bp = Blueprint("dashboards", __name__, url_prefix="/dashboard")

from app.blueprints.dashboards import views  # noqa: E402,F401  (views attach routes to bp)
