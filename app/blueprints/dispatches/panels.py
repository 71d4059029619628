"""What the dispatch page shows about matching: ranked candidates, exclusions, the stored metric."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from app.extensions import db
from app.models import Dispatch, DispatchMetric, DispatchStatus, User
from app.services import matching

FACTOR_LABELS = {
    "skill": "Skill", "distance": "Distance", "availability": "Availability",
    "priority_balance": "Priority balance", "skill_diversity": "Skill diversity", "history": "History",
}
#: Statuses from which a manager may assign or reassign (the status machine's way into Assigned).
ASSIGNABLE = (DispatchStatus.CREATED, DispatchStatus.ASSIGNED)


@dataclass
class Factor:
    name: str
    label: str
    value: float | str
    weight: float | None  # None: a factor of another matcher, whose weight is not known here
    contribution: float | None

    @property
    def value_text(self) -> str:
        return f"{self.value:.2f}" if isinstance(self.value, float) else str(self.value)


def _number(value) -> float | str:
    """A breakdown value as a number when it is one, else as the matcher gave it."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    return float(value)


def _humanised(name: str) -> str:
    return str(name).replace("_", " ").strip().capitalize() or str(name)


@dataclass
class Candidate:
    technician_id: int
    name: str
    score: float
    factors: list[Factor]
    estimates: dict = field(default_factory=dict)
    current: bool = False


@dataclass
class Panel:
    candidates: list[Candidate]
    excluded: list[tuple[str, str]]
    technicians: list[tuple[int, str]]
    matcher: str
    note: str | None
    more_technicians: bool = False
    picker: list = field(default_factory=list)  # matching.PickerRow: load, shift, distance, why


def factors(breakdown: dict | None, weights: dict[str, float]) -> list[Factor]:
    """A stored or fresh score breakdown as rows: value, weight and contribution of each factor.

    Whatever factors the matcher returned are shown: the built-in ones first with their labels
    and weights, then any others in the matcher's order, named from their key. ``<name>_contribution``
    keys give a factor's contribution; ``total`` is the score, shown elsewhere.
    """
    breakdown = breakdown if isinstance(breakdown, dict) else {}
    names = [name for name in FACTOR_LABELS if name in breakdown]
    names += [name for name in breakdown
              if name not in FACTOR_LABELS and name != "total"
              and not (str(name).endswith("_contribution") and str(name)[: -len("_contribution")] in breakdown)]
    rows = []
    for name in names:
        value = _number(breakdown[name])
        given = breakdown.get(f"{name}_contribution")
        if name in FACTOR_LABELS:
            weight = weights.get(name, 0.0)
            contribution = _number(given) if given is not None else (value * weight if isinstance(value, float) else None)
            rows.append(Factor(name, FACTOR_LABELS[name], value, weight,
                               contribution if isinstance(contribution, float) else None))
        else:
            contribution = _number(given) if given is not None else None
            rows.append(Factor(str(name), _humanised(name), value, None,
                               contribution if isinstance(contribution, float) else None))
    return rows


def weights() -> dict[str, float]:
    return matching.match_settings().weights.normalised()


def _candidates(ranking, ranked, current_id: int | None, weight: dict[str, float]) -> list[Candidate]:
    estimates = matching.candidate_estimates(ranking, [c.technician_id for c in ranked])
    result = []
    for candidate in ranked:
        info = ranking.technician(candidate.technician_id)
        result.append(Candidate(
            technician_id=candidate.technician_id,
            name=info.name if info else f"#{candidate.technician_id}",
            score=candidate.score,
            factors=factors(candidate.breakdown, weight),
            estimates=estimates.get(candidate.technician_id, {}),
            current=candidate.technician_id == current_id,
        ))
    return result


def _excluded(ranking) -> list[tuple[str, str]]:
    return sorted(
        ((ranking.technician(tid).name if ranking.technician(tid) else f"#{tid}", reason)
         for tid, reason in ranking.outcome.excluded.items()),
        key=lambda pair: pair[0].lower(),
    )


MANUAL_PICKER_SIZE = 50


def assignment_panel(dispatch: Dispatch, limit: int = 10) -> Panel | None:
    """The ranked candidates for an assignable dispatch (the loading is six queries, whatever the size)."""
    if dispatch.status not in ASSIGNABLE:
        return None
    ranking = matching.rank(dispatch)
    weight = weights()
    # The manual picker: the engine's order with each technician's load, shift and distance,
    # the ineligible ones after, marked why; a search by name finds the rest.
    rows, more = matching.picker(ranking, MANUAL_PICKER_SIZE)
    if dispatch.assigned_user_id is not None and all(r.technician_id != dispatch.assigned_user_id for r in rows):
        current = [r for r in matching.picker(ranking, len(ranking.loaded.pool))[0]
                   if r.technician_id == dispatch.assigned_user_id]
        rows = current + rows
    return Panel(
        candidates=_candidates(ranking, list(ranking.outcome.ranked)[:limit], dispatch.assigned_user_id, weight),
        excluded=_excluded(ranking),
        technicians=[(r.technician_id, r.name) for r in rows],
        more_technicians=more,
        matcher=ranking.matcher,
        note=ranking.note,
        picker=rows,
    )


def suggestions(ranking, limit: int = 5) -> Panel:
    """The best few technicians for a work order not saved yet (the new form's preview)."""
    weight = weights()
    return Panel(
        candidates=_candidates(ranking, list(ranking.outcome.ranked)[:limit], None, weight),
        excluded=_excluded(ranking),
        technicians=[],
        matcher=ranking.matcher,
        note=ranking.note,
    )


def current_metric(dispatch: Dispatch) -> DispatchMetric | None:
    """The engine's record of the current assignment (its latest metric row), if any."""
    if dispatch.assigned_user_id is None:
        return None
    rows = [m for m in dispatch.metrics if m.technician_id == dispatch.assigned_user_id]
    return rows[-1] if rows else None


def fallback_names(metric: DispatchMetric | None, panel: Panel | None) -> dict[int, str]:
    """Names of the metric's fallback technicians: from the ranking when there is one, else one query."""
    if metric is None or not metric.fallback_technicians:
        return {}
    ids = {int(f["technician_id"]) for f in metric.fallback_technicians}
    if panel is not None:
        known = dict(panel.technicians)
        if ids <= known.keys():
            return {i: known[i] for i in ids}
    return dict(db.session.execute(select(User.id, User.name).where(User.id.in_(ids))).all())
