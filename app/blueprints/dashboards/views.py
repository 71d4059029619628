from flask import current_app, render_template, request, url_for
from flask_login import current_user

from app.blueprints.dispatches.helpers import is_htmx
from app.blueprints.security import roles_required
from app.blueprints.dashboards import bp
from app.services import dashboards, local_time, metrics


@bp.get("/technicians")
@roles_required("manager", "admin")
def technicians():
    """Every technician's state and figures; an htmx request gets the table fragment only."""
    filters = dashboards.TechnicianFilters.from_args(request.args)
    page, counts = dashboards.technician_page(filters)
    context = {"page": page, "filters": filters, "counts": counts, "states": dashboards.STATES,
               "list_url": url_for("dashboards.technicians", **filters.args(page=page.page))}
    if is_htmx() and request.headers.get("HX-Target") == "technician-table":
        response = current_app.make_response(render_template("dashboards/_technician_table.html", **context))
    else:
        context["tiles"] = dashboards.tiles(current_user, states=counts)
        response = current_app.make_response(render_template("dashboards/technicians.html", **context))
    response.vary.add("HX-Request")
    return response


@bp.get("/technicians/tiles")
@roles_required("manager", "admin")
def tiles():
    """The live tiles alone: the page polls this every 30 s while it is visible."""
    return render_template("dashboards/_tiles.html", tiles=dashboards.tiles(current_user))


@bp.get("/technicians/trends")
@roles_required("manager", "admin")
def trends():
    """Routing speed and estimated completion per day. The page loads it after itself (htmx
    ``load``): a month of assignment records is more than the page's own time budget."""
    context = {"trends": metrics.daily_trends(dashboards.TREND_DAYS), "duration_text": metrics.duration_text,
               "trend_zone": local_time.zone_label(local_time.organisation_zone())}
    template = "dashboards/_trends.html" if is_htmx() else "dashboards/trends.html"
    response = current_app.make_response(render_template(template, **context))
    response.vary.add("HX-Request")
    return response
