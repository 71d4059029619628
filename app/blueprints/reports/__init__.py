"""Daily and weekly summary pages for managers and admins."""
from flask import Blueprint

bp = Blueprint("reports", __name__, url_prefix="/reports")


@bp.app_template_filter("duration")
def duration(seconds):
    from app.services.metrics import duration_text

    return duration_text(seconds)


from app.blueprints.reports import views  # noqa: E402,F401  (views attach routes to bp)
