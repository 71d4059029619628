from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

# The modules attach their routes to bp.
from app.blueprints.admin import (  # noqa: F401
    assets, detail_sets, fleet, health, notifications, plugins, scheduler, users, views, webhooks,
)
