from flask import Blueprint

bp = Blueprint("checklists", __name__, url_prefix="/checklists")

from app.blueprints.checklists import views  # noqa: E402,F401  (views attach routes to bp)
