from flask import Blueprint

bp = Blueprint("account", __name__, url_prefix="/account")

from app.blueprints.account import views  # noqa: E402,F401  (views attach routes to bp)
