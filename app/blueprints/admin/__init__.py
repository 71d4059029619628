from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

# The modules attach their routes to bp.
from app.blueprints.admin import assets, detail_sets, fleet, notifications, plugins, scheduler, users, views  # noqa: F401
