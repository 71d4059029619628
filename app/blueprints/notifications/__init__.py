from flask import Blueprint

bp = Blueprint("notifications", __name__, url_prefix="/notifications")

from app.blueprints.notifications import views  # noqa: E402,F401  (views attach routes to bp)
