from flask import current_app, render_template, send_from_directory
from flask_login import current_user, login_required
from sqlalchemy import func, select

from app.blueprints.main import bp
from app.extensions import db
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
def healthz():
    db.session.execute(select(1))
    return {"status": "ok"}


@bp.get("/favicon.ico")
def favicon():
    """Browsers ask for /favicon.ico whatever the page links: answer with the site's icon."""
    response = send_from_directory(current_app.static_folder, "favicon.svg", mimetype="image/svg+xml", max_age=86400)
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response
