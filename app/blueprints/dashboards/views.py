from flask import abort, current_app, render_template, request, url_for
from flask_login import current_user

from app.blueprints import charts
from app.blueprints.dashboards import bp
from app.blueprints.dispatches.helpers import is_htmx
from app.blueprints.downloads import csv_response
from app.blueprints.security import roles_required
from app.services import analytics, dashboards, local_time, metrics, queries


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
    """Routing speed and estimated completion per day, as charts and their data table. The page
    loads it after itself (htmx ``load``) so its own time budget never depends on it."""
    days = metrics.daily_trends(dashboards.TREND_DAYS)
    labels = [day.day.strftime("%d %b") for day in days]
    context = {
        "trends": days, "duration_text": metrics.duration_text,
        "trend_zone": local_time.zone_label(local_time.organisation_zone()),
        "routing_chart": charts.day_lines(labels, [
            ("p50", [d.routing_p50_seconds for d in days]), ("p95", [d.routing_p95_seconds for d in days])],
            text=lambda v: metrics.duration_text(v)),
        "completion_chart": charts.day_lines(labels, [
            ("p50", [d.completion_p50_hours for d in days]), ("p95", [d.completion_p95_hours for d in days])],
            text=lambda v: f"{v:.1f} h"),
        "has_data": any(d.assignments or d.estimates for d in days),
    }
    template = "dashboards/_trends.html" if is_htmx() else "dashboards/trends.html"
    response = current_app.make_response(render_template(template, **context))
    response.vary.add("HX-Request")
    return response


TREND_CSV_HEADER = ("day", "assignments", "routing_p50_seconds", "routing_p95_seconds", "estimates",
                    "completion_p50_hours", "completion_p95_hours")


@bp.get("/technicians/trends.csv")
@roles_required("manager", "admin")
def trends_csv():
    """The trends table as CSV, oldest day first; an empty figure is an empty cell."""
    days = metrics.daily_trends(dashboards.TREND_DAYS)
    rows = ((d.day.isoformat(), d.assignments, d.routing_p50_seconds, d.routing_p95_seconds, d.estimates,
             d.completion_p50_hours, d.completion_p95_hours) for d in days)
    return csv_response(f"trends-{days[0].day.isoformat()}-{days[-1].day.isoformat()}.csv", TREND_CSV_HEADER, rows)


# --- Assignment analytics -------------------------------------------------------------------


def _list_url(filters: analytics.AnalyticsFilters, **extra) -> str:
    """The work-order list showing what a bar counted (docs/dashboards.md, "Drill-down")."""
    return url_for("dispatches.index", **filters.dispatch_list_args(**extra))


def _assignment_charts(data: analytics.Analytics) -> dict:
    """Chart geometry for the page's figures; each bar that counts dispatches links to the list of them."""
    f = data.filters
    skills = data.skills.rows
    workload = data.workload
    return {
        "status": charts.bars([(row.key, row.count, _list_url(f, status=row.key)) for row in data.status.rows]),
        "priority": charts.bars([(row.key, row.count, _list_url(f, priority=row.key)) for row in data.priority.rows]),
        "skills": charts.stacked_bars(
            # A dispatch naming no skill has nothing for its technician to lack: its own series.
            [(row.skill or "no skill named",
              [row.matched, row.lacking, row.demand - row.assigned, 0 if row.skill else row.assigned],
              _list_url(f, skill=row.skill or "none")) for row in skills if row.demand],
            ("technician holds it", "technician lacks it", "no technician yet", "technician, no skill needed")),
        "workload": charts.stacked_bars(
            [(t.name or "?", [t.completed, t.open, t.assigned - t.completed - t.open],
              _list_url(f, technician=t.technician_id)) for t in workload.technicians]
            + ([("no technician", [0, 0, workload.unassigned], _list_url(f, technician="none"))]
               if workload.unassigned else []),
            ("completed", "open", "cancelled or not assigned")),
        "cost": {by: charts.stacked_bars([(row.label, [getattr(row, part) for part in analytics.COST_PARTS], None)
                                          for row in figure.rows],
                                         analytics.COST_PART_HEADERS, text=charts.money)
                 for by, figure in data.cost.items()},
        "sla_day": charts.day_series([(row.key[5:], row.rate) for row in data.sla_day.rows]),
        "sla_priority": charts.bars([(row.key, row.rate, None) for row in data.sla_priority.rows],
                                    text=lambda v: f"{v:.0f} %"),
    }


@bp.get("/assignments")
@roles_required("manager", "admin")
def assignments():
    """Assignment analytics over a range of local days; an htmx request gets the results region only."""
    filters = analytics.AnalyticsFilters.from_args(request.args)
    data = analytics.assignments_page(filters)
    context = {"data": data, "filters": filters, "charts": _assignment_charts(data), "list_url": _list_url,
               "cost_groups": analytics.COST_GROUPS}
    if is_htmx() and request.headers.get("HX-Target") == "analytics-results":
        response = current_app.make_response(render_template("dashboards/_assignment_results.html", **context))
    else:
        technician = str(filters.technician.id) if filters.technician else None
        technicians, more = queries.technician_choices(None, technician)
        context.update(ranges=analytics.RANGES, technicians=technicians, more_technicians=more,
                       **analytics.filter_choices())
        response = current_app.make_response(render_template("dashboards/assignments.html", **context))
    response.vary.add("HX-Request")
    return response


@bp.get("/assignments/<figure>.csv")
@roles_required("manager", "admin")
def assignments_csv(figure: str):
    """One figure's data as CSV, for the same filters as the page."""
    if figure not in analytics.TABLES:
        abort(404, f"There is no figure called {figure!r}; the page's download links name the figures.")
    filters = analytics.AnalyticsFilters.from_args(request.args)
    spec, rows = analytics.table(figure, filters)
    return csv_response(f"assignments-{figure}-{filters.since.isoformat()}-{filters.until.isoformat()}.csv",
                        spec.header, rows)
