"""Models as the API shows them (plain values; the schemas in ``dispatch_schemas`` format them)."""

from __future__ import annotations

import math

from app.models import Dispatch, DispatchMetric, User
from app.services import dispatches as dispatch_service
from app.services.errors import ConcurrentUpdate


def person(user: User | None) -> dict | None:
    return None if user is None else {"id": user.id, "name": user.name}


def _number(value):
    """A JSON-safe number (numpy scalars to Python, NaN and infinities to None)."""
    if isinstance(value, bool) or value is None:
        return value
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return number if math.isfinite(number) else None


def _plain(value):
    if isinstance(value, dict):
        return {str(key): _plain(inner) for key, inner in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(inner) for inner in value]
    if isinstance(value, str) or value is None or isinstance(value, bool | int):
        return value
    return _number(value)


def dispatch_summary(dispatch: Dispatch) -> dict:
    asset = dispatch.asset
    return {
        "number": dispatch.dispatch_number,
        "title": dispatch.title,
        "description": dispatch.description,
        "status": dispatch.status,
        "priority": dispatch.priority,
        "work_type": dispatch.work_type,
        "asset": None if asset is None else {
            "id": asset.id, "tag": asset.asset_tag, "name": asset.name,
            "asset_type": asset.asset_type.name if asset.asset_type is not None else None,
        },
        "technician": person(dispatch.assigned_user),
        "required_skill": dispatch.required_skill,
        "estimated_duration_hours": dispatch.estimated_duration_hours,
        "created_at": dispatch.created_date,
        "due_date": dispatch.due_date,
        "sla_due_at": dispatch.sla_due_at,
        "assigned_at": dispatch.assigned_date,
        "started_at": dispatch.started_date,
        "completed_at": dispatch.completed_date,
        "version": dispatch.version_id,
        "allowed_next": list(dispatch_service.allowed_next(dispatch.status)),
    }


def assignment(metric: DispatchMetric) -> dict:
    return {
        "id": metric.id,
        "dispatch": metric.dispatch.dispatch_number,
        "technician": person(metric.technician),
        "mode": metric.mode,
        "matcher": metric.matcher,
        "score": _number(metric.score),
        "score_breakdown": _plain(metric.score_breakdown or {}),
        "routing_speed_seconds": _number(metric.routing_speed_seconds),
        "estimated_completion_hours": _number(metric.estimated_completion_hours),
        "operational_cost": _number(metric.operational_cost),
        "labour_cost": _number(metric.labour_cost),
        "overtime_cost": _number(metric.overtime_cost),
        "travel_cost": _number(metric.travel_cost),
        "sla_met": metric.sla_met,
        "burnout_risk": _number(metric.burnout_risk),
        "burnout_alert": bool(metric.burnout_alert),
        "fallback_technicians": _plain(metric.fallback_technicians or []),
        "fallback_used": bool(metric.fallback_used),
        "note": metric.note,
        "created_at": metric.created_at,
    }


def _checklist(checklist) -> dict:
    loaded = getattr(checklist, "loaded", False)
    return {
        "detail_id": checklist.id,
        "table_name": checklist.detail.__tablename__ if loaded else checklist.table_name,
        "label": checklist.label,
        "loaded": bool(loaded),
        "signed_off_at": checklist.signed_off_at,
        "answered": checklist.answered if loaded else None,
        "total": checklist.total if loaded else None,
        "answers": {name: _plain(item.value) for name, item in checklist.items.items()} if loaded else {},
    }


def dispatch_detail(dispatch: Dispatch) -> dict:
    from app.services.checklists import checklists_for

    location = dispatch.dispatch_location or dispatch.major_location
    body = dispatch_summary(dispatch)
    body.update({
        "location": None if location is None else {"id": location.id, "name": location.name},
        "checklists": [_checklist(c) for c in checklists_for(dispatch)],
        "history": [{"status_from": h.status_from, "status_to": h.status_to, "reason": h.change_reason,
                     "changed_by": person(h.changed_by), "changed_at": h.changed_date}
                    for h in sorted(dispatch.status_history, key=lambda h: h.id)],
        "assignments": [assignment(m) for m in dispatch.metrics],
    })
    return body


def candidates(dispatch: Dispatch) -> dict:
    from app.blueprints.dispatches.panels import ASSIGNABLE, factors, weights
    from app.services import matching

    if dispatch.status not in ASSIGNABLE:
        raise ConcurrentUpdate(f"{dispatch.dispatch_number} is {dispatch.status}: only Created and Assigned "
                               "dispatches have candidates.")
    ranking = matching.rank(dispatch)
    weight = weights()
    ranked = list(ranking.outcome.ranked)
    estimates = matching.candidate_estimates(ranking, [c.technician_id for c in ranked])

    def name_of(technician_id: int) -> str:
        info = ranking.technician(technician_id)
        return info.name if info else f"#{technician_id}"

    return {
        "number": dispatch.dispatch_number,
        "matcher": ranking.matcher,
        "note": ranking.note,
        "candidates": [{
            "technician": {"id": c.technician_id, "name": name_of(c.technician_id)},
            "rank": position,
            "score": _number(c.score),
            "factors": [{"name": f.name, "label": f.label, "value": _plain(f.value), "weight": _number(f.weight),
                         "contribution": _number(f.contribution)} for f in factors(c.breakdown, weight)],
            "estimates": _plain(estimates.get(c.technician_id, {})),
            "current": c.technician_id == dispatch.assigned_user_id,
        } for position, c in enumerate(ranked, start=1)],
        "excluded": sorted(({"technician": {"id": tid, "name": name_of(tid)}, "reason": reason}
                            for tid, reason in ranking.outcome.excluded.items()),
                           key=lambda row: row["technician"]["name"].lower()),
    }
