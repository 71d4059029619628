"""Admin pages: the asset register, users, technician profiles, detail sets and plugins."""

from flask import render_template

from app.blueprints.admin import bp
from app.blueprints.security import roles_required


@bp.get("/")
@roles_required("admin")
def index():
    return render_template("admin/index.html")
