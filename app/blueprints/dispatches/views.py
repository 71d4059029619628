from flask import current_app, render_template, request
from flask_login import current_user, login_required

from app.blueprints.dispatches import bp
from app.models import DispatchStatus
from app.services import queries


@bp.get("/")
@login_required
def index():
    """Read-only list of the dispatches the user may see, newest first."""
    status = request.args.get("status") or None
    if status not in {s.value for s in DispatchStatus}:
        status = None
    page = request.args.get("page", 1, type=int) or 1
    result = queries.dispatch_page(
        current_user, status=status, page=page, per_page=current_app.config["DISPATCHES_PER_PAGE"]
    )
    template = "dispatches/_table.html" if request.headers.get("HX-Request") else "dispatches/index.html"
    response = current_app.make_response(
        render_template(template, page=result, status=status, statuses=[s.value for s in DispatchStatus])
    )
    response.vary.add("HX-Request")
    return response
