from flask import current_app, jsonify, render_template, send_from_directory
from flask_login import current_user, login_required
from sqlalchemy import func, select

from app.blueprints.main import bp
from app.extensions import csrf, db
from app.models import Asset, AssetType, Role, User
from app.plugins.manager import EXTENSION_KEY as PLUGINS_KEY
from app.services import attention, queries


@bp.get("/")
@login_required
def home():
    """Each role lands on what it needs first."""
    if current_user.role == Role.TECHNICIAN:
        return render_template("main/home_technician.html", work=queries.my_open_work(current_user))
    counts = queries.status_counts(current_user)
    if current_user.role == Role.ADMIN:
        from flask import current_app

        totals = {
            "users": db.session.scalar(select(func.count()).select_from(User).where(User.is_system.is_(False))),
            "assets": db.session.scalar(select(func.count()).select_from(Asset)),
            "asset_types": db.session.scalar(select(func.count()).select_from(AssetType)),
        }
        plugins = current_app.extensions[PLUGINS_KEY].records.values()
        return render_template("main/home_admin.html", counts=counts, totals=totals, plugins=plugins)
    return render_template("main/home_manager.html", counts=counts, overdue=attention.overdue_open(),
                           unassigned=attention.unassigned_open())


@bp.get("/healthz")
@csrf.exempt
def healthz():
    """For load balancers and monitors: no login, no session, JSON, 503 when the database is down.

    One ``SELECT 1`` and nothing else: it loads no user even for a signed-in browser
    (``auth_sessions.touch_current_session`` skips it), and a database that does not answer
    gives this answer, never an error page.
    """
    from app.services import health

    state = health.liveness()
    response = jsonify(state.as_json())
    response.status_code = 200 if state.ok else 503
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/favicon.ico")
def favicon():
    """Browsers ask for /favicon.ico whatever the page links: answer with the site's icon."""
    response = send_from_directory(current_app.static_folder, "favicon.svg", mimetype="image/svg+xml", max_age=86400)
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response
