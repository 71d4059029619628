from flask import Blueprint

bp = Blueprint("alerts", __name__, url_prefix="/alerts")

from app.blueprints.alerts import views  # noqa: E402,F401  (views attach routes to bp)
