from flask import Blueprint

bp = Blueprint("dispatches", __name__, url_prefix="/dispatches")

from app.blueprints.dispatches import views  # noqa: E402,F401  (views attach routes to bp)
