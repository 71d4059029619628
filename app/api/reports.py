"""``/api/v1/reports``: the analytics page's figures and the alerting metrics, as JSON.

Every number comes from the function that computes it for the pages (``analytics.*`` and
``metrics.*``), for the range the analytics page takes (``AnalyticsFilters``): no figure is
computed twice, so the API, the page and the CSV downloads agree.
"""

from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from app.api.auth import MANAGERS, require
from app.api.problems import refusals
from app.api.schemas import ID_TEXT
from app.models import utcnow
from app.services import analytics, metrics

blp = Blueprint("api_reports", __name__, description="Reporting: analytics figures and metrics for a range.")
URL_PREFIX = "/reports"

_ID = {"description": "An id (see the admin resources); unknown ids are refused.", "pattern": ID_TEXT}
_DAY = {"description": "YYYY-MM-DD (local day).", "pattern": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}


class ReportQuerySchema(Schema):
    """The analytics page's filters; ``AnalyticsFilters.from_args`` checks them as the page does."""

    range = fields.String(validate=validate.OneOf(sorted(analytics.RANGES)),
                          metadata={"description": "today, 7d, 30d (default) or custom (with since and until)."})
    since = fields.String(validate=validate.Length(max=10), metadata=_DAY)
    until = fields.String(validate=validate.Length(max=10), metadata=_DAY)
    location = fields.String(validate=validate.Length(max=12), metadata=_ID)
    asset_type = fields.String(validate=validate.Length(max=12), metadata=_ID)
    skill = fields.String(validate=validate.Length(max=12), metadata=_ID)
    technician = fields.String(validate=validate.Length(max=12), metadata=_ID)


class ChoiceSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)


class RangeSchema(Schema):
    range = fields.String(required=True)
    since = fields.Date(required=True)
    until = fields.Date(required=True)
    label = fields.String(required=True)
    start = fields.DateTime(required=True, metadata={"description": "Local midnight of since, in UTC."})
    end = fields.DateTime(required=True, metadata={"description": "Local midnight after until, in UTC."})
    location = fields.Nested(ChoiceSchema, allow_none=True, required=True)
    asset_type = fields.Nested(ChoiceSchema, allow_none=True, required=True)
    skill = fields.Nested(ChoiceSchema, allow_none=True, required=True)
    technician = fields.Nested(ChoiceSchema, allow_none=True, required=True)


def _figure(description: str) -> fields.Dict:
    return fields.Dict(required=True, metadata={"description": description})


class AnalyticsReportSchema(Schema):
    filters = fields.Nested(RangeSchema, required=True)
    status = _figure("Dispatches created in the range by status (analytics.by_status).")
    priority = _figure("Dispatches created in the range by priority (analytics.by_priority).")
    skills = _figure("Skill demand and match rates (analytics.skill_demand).")
    workload = _figure("Workload per technician (analytics.workload).")
    cost = fields.Dict(keys=fields.String(), values=fields.Dict(), required=True,
                       metadata={"description": "Operational cost by asset_type, location, priority "
                                                "(analytics.cost_breakdown)."})
    sla_day = _figure("SLA compliance per local day (analytics.sla_by_day).")
    sla_priority = _figure("SLA compliance per priority (analytics.sla_by_priority).")
    recent = _figure("The latest assignment records and their count (analytics.recent_assignments).")


class MetricsReportSchema(Schema):
    filters = fields.Nested(RangeSchema, required=True)
    window_start = fields.DateTime(required=True)
    window_end = fields.DateTime(required=True, metadata={"description": "The range's end, or now if sooner."})
    routing_speed = _figure("Seconds from creation to assignment: p50, p95, worst (metrics.routing_speed).")
    sla_compliance = _figure("Completed within SLA, open past SLA (metrics.sla_compliance).")
    operational_cost = _figure("Cost per assignment: total, average, worst (metrics.operational_cost).")
    burnout = fields.Dict(required=True, allow_none=True, metadata={
        "description": "Technicians at burnout risk (metrics.burnout); null with a location, asset type or skill."})
    utilisation = fields.Dict(required=True, allow_none=True, metadata={
        "description": "Booked hours against shift hours (metrics.utilisation); null with a location, asset type "
                       "or skill."})
    technician_states = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True, allow_none=True,
                                    metadata={"description": "Technicians per state now (metrics.technician_states); "
                                                             "null with a location, asset type or skill."})
    not_narrowable = fields.Dict(keys=fields.String(), values=fields.String(), required=True, metadata={
        "description": "Each figure left null because a filter has no meaning for it, and why."})


def _rates(value):
    """``asdict`` leaves out properties: add each figure's ``rate`` / ``match_rate`` beside its counts."""
    from dataclasses import fields as dataclass_fields
    from dataclasses import is_dataclass

    if is_dataclass(value) and not isinstance(value, type):
        body = {f.name: _rates(getattr(value, f.name)) for f in dataclass_fields(value)}
        for name in ("rate", "match_rate"):
            if isinstance(getattr(type(value), name, None), property):
                body[name] = getattr(value, name)
        return body
    if isinstance(value, dict):
        return {str(k): _rates(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_rates(v) for v in value]
    return value


def _plain(value):
    return metrics.jsonable(_rates(value))


def _choice(choice):
    return None if choice is None else {"id": choice.id, "name": choice.name}


def _filters(filters: analytics.AnalyticsFilters) -> dict:
    window = filters.window
    return {"range": filters.range, "since": filters.since, "until": filters.until, "label": filters.label,
            "start": window.start, "end": window.end, "location": _choice(filters.location),
            "asset_type": _choice(filters.asset_type), "skill": _choice(filters.skill),
            "technician": _choice(filters.technician)}


def _parse(args) -> analytics.AnalyticsFilters:
    return analytics.AnalyticsFilters.from_args(args)  # a ValidationError names the parameter: a 422


@blp.route("/analytics", methods=["GET"])
@require(*MANAGERS)
@blp.arguments(ReportQuerySchema, location="query")
@blp.response(200, AnalyticsReportSchema)
@refusals(blp, 401, 403, 422, 429)
def analytics_report(args):
    """Every figure of the analytics page (/dashboard/assignments) for the range and filters."""
    filters = _parse(args)
    data = analytics.assignments_page(filters)
    return {
        "filters": _filters(filters), "status": _plain(data.status), "priority": _plain(data.priority),
        "skills": _plain(data.skills), "workload": _plain(data.workload),
        "cost": {by: _plain(figure) for by, figure in data.cost.items()},
        "sla_day": _plain(data.sla_day), "sla_priority": _plain(data.sla_priority), "recent": _plain(data.recent),
    }


@blp.route("/metrics", methods=["GET"])
@require(*MANAGERS)
@blp.arguments(ReportQuerySchema, location="query")
@blp.response(200, MetricsReportSchema)
@refusals(blp, 401, 403, 422, 429)
def metrics_report(args):
    """The alerting metrics over the range (its end is now at the latest); technician states are now.

    Location, asset type, skill and technician narrow routing speed, SLA compliance and
    operational cost to the dispatches they describe. Burnout, utilisation and technician
    states are of technicians: they take the technician filter, and with a location, asset
    type or skill they are null, the reason in ``not_narrowable``.
    """
    filters = _parse(args)
    window, scope = filters.metric_window, filters.metric_scope
    refused = {name: why for name in ("burnout", "utilisation", "technician_states")
               if (why := metrics.not_narrowable(name, scope))}

    def unless_refused(name, compute):
        return None if name in refused else compute()

    return {
        "filters": _filters(filters), "window_start": window.start, "window_end": window.end,
        "routing_speed": _plain(metrics.routing_speed(window, scope=scope)),
        "sla_compliance": _plain(metrics.sla_compliance(window, scope=scope)),
        "operational_cost": _plain(metrics.operational_cost(window, scope=scope)),
        "burnout": unless_refused("burnout", lambda: _plain(metrics.burnout(window, scope=scope))),
        "utilisation": unless_refused("utilisation", lambda: _plain(metrics.utilisation(window, scope=scope))),
        "technician_states": unless_refused("technician_states",
                                            lambda: metrics.technician_states(utcnow(), scope=scope)),
        "not_narrowable": refused,
    }
