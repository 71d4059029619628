from datetime import timedelta

from flask import redirect, render_template, url_for

from app.blueprints.reports import bp
from app.blueprints.security import roles_required
from app.services import reports


@bp.get("/")
@roles_required("manager", "admin")
def index():
    """Today's daily summary (the navigation's "Reports")."""
    return redirect(url_for("reports.daily", day=reports.today().isoformat()))


@bp.get("/daily/<day>")
@roles_required("manager", "admin")
def daily(day: str):
    return _show("daily", day)


@bp.get("/weekly/<day>")
@roles_required("manager", "admin")
def weekly(day: str):
    return _show("weekly", day)


def _show(kind: str, text: str):
    # A date that cannot be read, or has not begun, is a ValidationError: a 400 page saying why.
    day = reports.parse_day(text)
    report = reports.summary(kind, day)
    step = timedelta(days=1 if kind == "daily" else 7)
    today = reports.today()
    return render_template(
        "reports/show.html", report=report, day=day,
        previous=(report.first_day - step).isoformat(),
        following=(report.first_day + step).isoformat() if report.first_day + step <= today else None,
        other_kind="weekly" if kind == "daily" else "daily",
        other_day=(day if kind == "daily" else min(report.last_day, today)).isoformat(),
    )
