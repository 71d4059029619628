"""The matching service: ranks technicians for a dispatch, assigns and records why.

The heavy lifting is numpy code in ``app.matching`` (scoring, estimates, batch assignment);
the candidate pool it ranks comes from ``app.services.candidate_pool`` (a constant number
of queries, the slowly-changing part kept per process). Every decision is recorded in
``dispatch_metrics``. Matchers and the distance provider come from plugins.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
from flask import current_app
from sqlalchemy import case, select

from app.extensions import db
from app.models import (
    Availability,
    Dispatch,
    DispatchMetric,
    DispatchPriority,
    DispatchStatus,
    Event,
    TechnicianProfile,
    User,
    utcnow,
)
from app.plugins.contracts import MatchOutcome
from app.services import alerting
from app.services import actors
from app.services import dispatches as dispatch_service
from app.services import local_time
# Loading the pool lives in candidate_pool; these names stay importable from here.
from app.services.candidate_pool import OPEN, URGENT, LoadedPool, TechnicianInfo, load_pool  # noqa: F401
from app.services.errors import ConcurrentUpdate, DomainError, ValidationError
from app.services.transaction import require_own_transactions, transaction

logger = logging.getLogger(__name__)

MATCHERS_KEY = "motorpool.matchers"
DISTANCE_KEY = "motorpool.distance_provider"
BUILTIN_MATCHER = "weighted"
RANK_LIMIT = 20
WRITE_CONFLICT_RETRIES = 2  # per candidate, before moving on to the next one


def match_settings():
    from app.matching import MatchSettings, MatchWeights

    config = current_app.config
    return MatchSettings(
        weights=MatchWeights(**config["MOTORPOOL_MATCH_WEIGHTS"]),
        max_distance_km=float(config["MOTORPOOL_MAX_DISTANCE_KM"]),
        travel_speed_kmh=float(config["MOTORPOOL_TRAVEL_SPEED_KMH"]),
        travel_cost_per_km=float(config["MOTORPOOL_TRAVEL_COST_PER_KM"]),
    )


# --- Ranking ------------------------------------------------------------------------------


def request_for(dispatch: Dispatch, now: datetime | None = None):
    from app.matching import MatchRequest

    now = now or utcnow()
    location = dispatch.dispatch_location or dispatch.major_location
    latitude = location.latitude if location is not None else None
    longitude = location.longitude if location is not None else None
    if latitude is None or longitude is None:
        latitude = longitude = None
    sla = dispatch.sla_due_at or dispatch.due_date
    return MatchRequest(
        required_skill=dispatch.required_skill,
        priority=dispatch.priority,
        latitude=latitude,
        longitude=longitude,
        estimated_duration_hours=float(dispatch.estimated_duration_hours or 0),
        hours_until_sla=(sla - now).total_seconds() / 3600 if sla else 1e6,
        age_seconds=max(0.0, (now - dispatch.created_date).total_seconds()),
    )


def distances_for(pool, request) -> np.ndarray | None:
    """Distances from the dispatch to every technician, from the active distance provider."""
    if request.latitude is None or len(pool) == 0:
        return None
    from app.plugins.builtin.haversine import HaversineProvider

    provider = current_app.extensions[DISTANCE_KEY] or HaversineProvider()
    origin, speed = (request.latitude, request.longitude), float(current_app.config["MOTORPOOL_TRAVEL_SPEED_KMH"])
    try:
        km, _hours = provider.distances(origin, pool.latitude, pool.longitude, speed)
        km = np.asarray(km, dtype=np.float64)
        if km.shape != (len(pool),):
            raise ValueError(f"returned {km.shape[0] if km.ndim else 'a scalar'} distances for {len(pool)} technicians")
    except Exception:
        if current_app.config.get("MOTORPOOL_STRICT_PLUGINS") and not isinstance(provider, HaversineProvider):
            raise
        logger.exception("distance provider %r failed; using straight-line distances", provider)
        km, _hours = HaversineProvider().distances(origin, pool.latitude, pool.longitude, speed)
    return np.asarray(km, dtype=np.float64)


@dataclass
class Ranking:
    """The ranked candidates for one dispatch, and everything needed to explain them."""

    dispatch_id: int
    matcher: str
    outcome: MatchOutcome
    loaded: LoadedPool
    request: object
    distances: np.ndarray | None
    note: str | None = None  # e.g. why the active matcher was not used
    scores: object = field(default=None, repr=False)  # weighted PoolScores, for the estimates

    def technician(self, technician_id: int) -> TechnicianInfo | None:
        return self.loaded.technicians.get(technician_id)

    def excluded_summary(self) -> str:
        counts: dict[str, int] = {}
        for reason in self.outcome.excluded.values():
            for part in reason.split("; "):
                label = part.split(" (")[0]
                counts[label] = counts.get(label, 0) + 1
        if not self.loaded.technicians:
            return "there are no active technicians with a profile"
        return ", ".join(f"{count} {label}" for label, count in sorted(counts.items())) or "none eligible"


def active_matcher_name() -> str:
    return current_app.config["MOTORPOOL_MATCHER"]


def rank(dispatch: Dispatch, *, limit: int = RANK_LIMIT, loaded: LoadedPool | None = None,
         exclude: set[int] | frozenset[int] = frozenset()) -> Ranking:
    """Rank technicians for a dispatch with the active matcher (the built-in one if it fails)."""
    from app.matching import Exclusions, PoolScorer

    loaded = loaded or load_pool()
    pool = loaded.pool
    if exclude:
        pool = pool.subset(~np.isin(pool.technician_ids, list(exclude)))
        loaded = LoadedPool(pool, {k: v for k, v in loaded.technicians.items() if k not in exclude}, loaded.loaded_at)
    request = request_for(dispatch, loaded.loaded_at)
    distances = distances_for(pool, request)
    settings = match_settings()
    matchers = current_app.extensions[MATCHERS_KEY]
    name = active_matcher_name()
    note = None
    matcher = matchers.get(name)
    outcome = None
    if matcher is None:
        note = f"Matcher {name!r} is not provided by any enabled plugin; used {BUILTIN_MATCHER!r}."
    else:
        try:
            outcome = matcher.rank(pool, request, distances, settings, limit)
        except Exception as exc:
            if current_app.config.get("MOTORPOOL_STRICT_PLUGINS") and not current_app.config.get(
                "MOTORPOOL_TOLERATE_MATCHER_FAILURES"
            ):
                raise
            logger.exception("matcher %s failed; falling back to %s", name, BUILTIN_MATCHER)
            note = f"Matcher {name!r} failed ({type(exc).__name__}: {exc}); used {BUILTIN_MATCHER!r}."
    if outcome is None:
        name = BUILTIN_MATCHER
        outcome = matchers[BUILTIN_MATCHER].rank(pool, request, distances, settings, limit)
    scores = PoolScorer(pool, settings).score(request, distances)
    # A matcher that names no exclusions gets the built-in hard constraints' reasons, written
    # only if someone reads them (asking the built-in's lazy mapping would write them all).
    if not isinstance(outcome.excluded, Exclusions) and not outcome.excluded:
        outcome = MatchOutcome(ranked=outcome.ranked, excluded=Exclusions(pool, request, scores.eligible))
    return Ranking(dispatch.id, name, outcome, loaded, request, distances, note, scores)


def metric_for(ranking: Ranking, technician_id: int, *, mode: str, note: str | None = None) -> DispatchMetric:
    """The ``dispatch_metrics`` row for giving the dispatch to ``technician_id``."""
    from app.matching import assignment_metrics

    pool = ranking.loaded.pool
    notes = [n for n in (ranking.note, note) if n]
    positions = np.flatnonzero(pool.technician_ids == technician_id)
    ranked = list(ranking.outcome.ranked)
    chosen = next((c for c in ranked if c.technician_id == technician_id), None)
    fallbacks = [
        {"technician_id": c.technician_id, "score": round(c.score, 6)}
        for c in ranked if c.technician_id != technician_id
    ][: match_settings().fallback_count]
    if positions.size == 0:  # no profile: nothing to estimate
        return DispatchMetric(mode=mode, matcher=ranking.matcher, fallback_technicians=fallbacks,
                              routing_speed_seconds=ranking.request.age_seconds,
                              note="; ".join(notes + ["technician has no profile"]) or None)
    values = assignment_metrics(pool, ranking.scores, int(positions[0]), ranking.request, ranking.distances,
                                match_settings())
    breakdown = chosen.breakdown if chosen is not None and chosen.breakdown else values["breakdown"]
    if not values["eligible"]:
        notes.append("assigned outside the matching rules: " + ranking.outcome.excluded.get(technician_id, "ineligible"))
    return DispatchMetric(
        mode=mode,
        matcher=ranking.matcher,
        score=chosen.score if chosen is not None else values["score"],
        score_breakdown=breakdown,
        routing_speed_seconds=values["routing_speed_seconds"],
        estimated_completion_hours=values["estimated_completion_hours"],
        operational_cost=values["operational_cost"],
        labour_cost=values["labour_cost"],
        overtime_cost=values["overtime_cost"],
        travel_cost=values["travel_cost"],
        sla_met=values["sla_met"],
        burnout_risk=values["burnout_risk"],
        burnout_alert=values["burnout_alert"],
        fallback_technicians=fallbacks,
        fallback_used=mode == "fallback",
        note="; ".join(notes) or None,
    )


# --- Assigning ----------------------------------------------------------------------------


def _technician(technician_id: int) -> User:
    user = db.session.get(User, technician_id)
    if user is None:
        raise ValidationError(f"Technician #{technician_id} does not exist.", field="assigned_user_id")
    return user


def _record_not_assigned(dispatch: Dispatch, text: str) -> None:
    with transaction():
        db.session.add(Event(event_type="dispatch.not_assigned", description=text, dispatch_id=dispatch.id,
                             asset_id=dispatch.asset_id))


def auto_assign(dispatch: Dispatch, *, loaded: LoadedPool | None = None, mode: str = "auto") -> DispatchMetric | None:
    """Give the dispatch to the best eligible technician; if nobody fits, record why and leave it Created.

    Tries the ranked candidates in order, so a technician claimed by another worker a moment
    ago is skipped rather than failing the whole assignment.
    """
    require_own_transactions("auto_assign")
    if dispatch.status != DispatchStatus.CREATED:
        raise ValidationError(f"{dispatch.dispatch_number} is {dispatch.status}; only Created dispatches are auto-assigned.")
    ranking = rank(dispatch, loaded=loaded)
    reason = f"{'Batch' if mode == 'batch' else 'Automatic'} assignment ({ranking.matcher})"
    for candidate in ranking.outcome.ranked:
        for attempt in range(WRITE_CONFLICT_RETRIES + 1):
            try:
                return assign_to(dispatch, candidate.technician_id, mode=mode, ranking=ranking, reason=reason)
            except ConcurrentUpdate:
                # A write conflict (a locked SQLite database, a stale version). If the dispatch
                # is still waiting, the same technician may well still be free: try again.
                db.session.refresh(dispatch)
                if dispatch.status != DispatchStatus.CREATED:
                    return None  # someone else assigned it meanwhile
                time.sleep(0.01 * (attempt + 1))
            except DomainError:
                # This technician just filled up or became unavailable. The refusal rolled the
                # session back, so this reads the dispatch's current state: if someone else
                # assigned it meanwhile, assigning it now would reassign it.
                if dispatch.status != DispatchStatus.CREATED:
                    return None
                break
    _record_not_assigned(
        dispatch,
        f"No technician could take {dispatch.dispatch_number}; it stays Created. Excluded: {ranking.excluded_summary()}.",
    )
    return None


DEFAULT_MANUAL_REASON = "Manual assignment"


def assign_to(dispatch: Dispatch, technician_id: int, *, mode: str = "manual", reason: str | None = None,
              ranking: Ranking | None = None, note: str | None = None) -> DispatchMetric:
    """Assign (or reassign) to a chosen technician, recording the engine's view of that choice.

    A manual choice of a technician the engine would not pick (at capacity, off shift, over
    their weekly hours, or without the required skill) is an *override*: it needs a reason,
    and the history records it with what the engine said (``EngineView``). An unavailable
    technician is refused even then.
    """
    technician = _technician(technician_id)
    ranking = ranking or rank(dispatch)
    view = engine_view(ranking, technician_id) if mode == "manual" else None
    if view is None or not view.reasons:
        reason = (reason or "").strip() or (DEFAULT_MANUAL_REASON if mode == "manual" else None)
        metric = metric_for(ranking, technician_id, mode=mode, note=note)
        dispatch_service.assign(dispatch, technician, reason, mode=mode, metric=metric)
        return metric
    if "unavailable" in view.reasons:
        why = db.session.scalar(select(TechnicianProfile.unavailable_reason)
                                .where(TechnicianProfile.user_id == technician_id))
        raise ValidationError(f"{view.name} is unavailable{f' ({why})' if why else ''}: not even an override assigns "
                              "them. Mark them available first, or choose another technician.", field="assigned_user_id")
    reason = _override_reason(view, reason)
    metric = metric_for(ranking, technician_id, mode=OVERRIDE, note=f"override: {view.summary()}")
    with transaction():
        dispatch_service.assign(dispatch, technician, reason, mode=OVERRIDE, metric=metric,
                                beyond_capacity=view.at_capacity)
        db.session.add(Event(
            event_type="dispatch.assignment_override", dispatch_id=dispatch.id, asset_id=dispatch.asset_id,
            user_id=actors.require_actor_id(),
            description=f"Override: {technician.name} assigned although {view.summary()}. Reason: {reason}",
        ))
    return metric


OVERRIDE = "override"


def _override_reason(view: EngineView, reason: str | None) -> str:
    """The manager's reason for an override: required, and held to the history's text rule."""
    from app.models import DispatchStatusHistory
    from app.services import text as text_rules

    given = (reason or "").strip()
    if not given or given == DEFAULT_MANUAL_REASON:
        raise ValidationError(
            f"{view.name} is not one the engine would pick ({'; '.join(view.reasons)}). To assign them anyway, "
            "give the reason for overriding it.", field="reason")
    column = text_rules.column_of(DispatchStatusHistory, "change_reason")
    text_rules.check_text(given, label="The reason", limit=text_rules.column_limit(column),
                          multiline=text_rules.is_multiline(column), field="reason")
    return given


# --- What the engine says about one technician, and the manual picker ------------------------


@dataclass
class EngineView:
    """The engine's view of one technician for a dispatch, for an override's record and the picker."""

    technician_id: int
    name: str
    reasons: list[str]  # why the engine would not pick them; empty when it might
    score: float  # the weighted score, whether eligible or not
    rank: int  # position by score among every technician of the pool (1 = best)
    of: int
    eligible: bool
    at_capacity: bool
    active: int
    limit: int
    on_shift: bool
    km: float | None
    pick: tuple[int, str, float] | None  # the engine's own first choice: id, name, score

    def summary(self) -> str:
        """E.g. "at capacity (3/3); off shift; score 0.41, rank 7 of 12; the engine's pick: Amara Okafor (0.83)"."""
        parts = list(self.reasons) + [f"score {self.score:.2f}, rank {self.rank} of {self.of}"]
        if self.pick is None:
            parts.append("the engine found nobody eligible")
        elif self.pick[0] != self.technician_id:
            parts.append(f"the engine's pick: {self.pick[1]} ({self.pick[2]:.2f})")
        return "; ".join(parts)


def engine_view(ranking: Ranking, technician_id: int) -> EngineView | None:
    """What the ranking says about ``technician_id``; None when they are not in the pool (no profile)."""
    from app.matching.scoring import FACTORS

    pool, scores = ranking.loaded.pool, ranking.scores
    positions = np.flatnonzero(pool.technician_ids == technician_id)
    if positions.size == 0 or scores is None:
        return None
    i = int(positions[0])
    weighted = np.asarray(scores.weighted, dtype=np.float64)
    reasons = [r for r in (ranking.outcome.excluded.get(technician_id) or "").split("; ") if r]
    eligible = bool(scores.eligible[i])
    if not eligible and not reasons:
        reasons = ["excluded by the matching rules"]
    skill = ranking.request.required_skill
    if skill and float(scores.factors[i, FACTORS.index("skill")]) <= 0.0:
        reasons.append(f"lacks the required skill ({skill})")
    ranked = list(ranking.outcome.ranked)
    pick = None
    if ranked:
        info = ranking.technician(ranked[0].technician_id)
        pick = (ranked[0].technician_id, info.name if info else f"#{ranked[0].technician_id}", ranked[0].score)
    info = ranking.technician(technician_id)
    km = float(ranking.distances[i]) if ranking.distances is not None and np.isfinite(ranking.distances[i]) else None
    active, limit = int(pool.active_count[i]), int(pool.max_concurrent[i])
    return EngineView(
        technician_id=technician_id, name=info.name if info else f"#{technician_id}", reasons=reasons,
        score=float(weighted[i]), rank=int((weighted > weighted[i]).sum()) + 1, of=len(pool), eligible=eligible,
        at_capacity=active >= limit, active=active, limit=limit, on_shift=bool(pool.on_shift[i]), km=km, pick=pick,
    )


@dataclass
class PickerRow:
    technician_id: int
    name: str
    load: str  # "2/3"
    shift: str  # "on shift", "off shift until 07:00", "off today"
    km: float | None
    eligible: bool
    why: str  # why the engine would not pick them ("" when it might)
    score: float
    position: int | None  # rank among the eligible, in the engine's order


def picker(ranking: Ranking, limit: int = 50) -> tuple[list[PickerRow], bool]:
    """Technicians for the manual picker: the engine's order, then the ineligible ones and why.

    Eligible technicians come in the active matcher's order (then by score), the others by
    score. Pure computation on the ranking (no queries). Returns the rows and whether more
    technicians exist than are shown.
    """
    pool, scores = ranking.loaded.pool, ranking.scores
    if scores is None or len(pool) == 0:
        return [], False
    order = {c.technician_id: n for n, c in enumerate(ranking.outcome.ranked)}
    weighted = np.asarray(scores.weighted, dtype=np.float64)
    eligible = np.asarray(scores.eligible, dtype=bool)
    # Eligible first (the matcher's order, then by score), then the rest by score.
    keys = sorted(range(len(pool)), key=lambda i: (
        not eligible[i], order.get(int(pool.technician_ids[i]), len(order)), -weighted[i], int(pool.technician_ids[i])))
    rows = []
    for i in keys[:limit]:
        technician_id = int(pool.technician_ids[i])
        view = engine_view(ranking, technician_id)
        info = ranking.technician(technician_id)
        rows.append(PickerRow(
            technician_id=technician_id, name=view.name, load=f"{view.active}/{view.limit}",
            shift=shift_text(info, view.on_shift, _technician_now(ranking.loaded.loaded_at, info)), km=view.km, eligible=view.eligible and not view.reasons,
            why="; ".join(view.reasons), score=view.score,
            position=order.get(technician_id, None) + 1 if technician_id in order else None,
        ))
    return rows, len(pool) > limit


def _technician_now(now: datetime, info: TechnicianInfo | None) -> datetime:
    """``now`` on the technician's wall clock (their zone, else the organisation's), as shifts are read."""
    return now.astimezone(local_time.zone_named(info.time_zone if info else None))


def shift_text(info: TechnicianInfo | None, on_shift: bool, local_now: datetime) -> str:
    """"on shift", "off shift until 07:00" (later today), "off shift until 07:00 tomorrow", or "off today"."""
    if on_shift:
        return "on shift"
    if info is None or info.shift_start is None:
        return "off shift"
    start = f"{info.shift_start:%H:%M}"
    today, tomorrow = str(local_now.isoweekday()), str(local_now.isoweekday() % 7 + 1)
    if today not in info.shift_days:
        return "off today"
    if local_now.time() < info.shift_start:
        return f"off shift until {start}"
    return f"off shift until {start} tomorrow" if tomorrow in info.shift_days else "off shift (done for today)"


def set_priority(dispatch: Dispatch, priority: str, reason: str | None = None) -> Dispatch:
    """A manager's priority override; the SLA moves with it when the dispatch has no due date."""
    if priority not in [p.value for p in DispatchPriority]:
        raise ValidationError(f"Unknown priority {priority!r}; choose one of "
                              f"{', '.join(p.value for p in DispatchPriority)}.", field="priority")
    if dispatch.is_final:
        raise ValidationError(f"{dispatch.dispatch_number} is {dispatch.status}; its priority can no longer change.")
    with transaction():
        previous = dispatch.priority
        dispatch.priority = priority
        if dispatch.due_date is None:
            hours = float(current_app.config["MOTORPOOL_SLA_HOURS"][priority])
            dispatch.sla_due_at = dispatch.created_date + timedelta(hours=hours)
        db.session.add(Event(event_type="dispatch.priority_changed", dispatch_id=dispatch.id, asset_id=dispatch.asset_id,
                             description=f"Priority of {dispatch.dispatch_number} changed from {previous} to {priority}"
                             + (f": {reason}" if reason else "")))
    return dispatch


# --- Fallback routing ---------------------------------------------------------------------


def reroute(dispatch: Dispatch, reason: str) -> DispatchMetric | None:
    """Give the dispatch to its recorded fallback technicians in order, else to a fresh ranking.

    Used when the assigned technician declines or becomes unavailable. The technician who
    dropped out is never chosen again for it. Returns the new metric, or ``None`` when
    nobody could take it (it is then unassigned back to Created, with the reason).
    """
    require_own_transactions("reroute")
    leaving = dispatch.assigned_user_id
    last = db.session.scalar(
        select(DispatchMetric).where(DispatchMetric.dispatch_id == dispatch.id).order_by(DispatchMetric.id.desc()).limit(1)
    )
    fallbacks = [f["technician_id"] for f in (last.fallback_technicians if last else []) if f["technician_id"] != leaving]
    ranking = rank(dispatch, exclude={leaving} if leaving else frozenset())
    eligible = {c.technician_id for c in ranking.outcome.ranked}
    ordered = [t for t in fallbacks if t in eligible] + [c.technician_id for c in ranking.outcome.ranked if c.technician_id not in fallbacks]
    for position, technician_id in enumerate(ordered, start=1):
        source = "recorded fallback" if technician_id in fallbacks else "fresh ranking"
        try:
            # The fallback alert is part of the reroute: both commit, or neither does.
            with transaction():
                metric = assign_to(dispatch, technician_id, mode="fallback", ranking=ranking,
                                   reason=f"Fallback routing: {reason}",
                                   note=f"{reason}; {source} #{position}")
                alerting.raise_fallback_alert(dispatch.dispatch_number, reason, _technician(technician_id).name,
                                              f"{source} #{position}")
            return metric
        except ConcurrentUpdate:
            db.session.refresh(dispatch)
            if dispatch.status != DispatchStatus.ASSIGNED or dispatch.assigned_user_id != leaving:
                return None  # moved, started or cancelled by someone else meanwhile
        except DomainError:
            if dispatch.status != DispatchStatus.ASSIGNED or dispatch.assigned_user_id != leaving:
                return None  # moved by someone else meanwhile (current state: the refusal rolled back)
            continue
    dispatch_service.unassign(dispatch, f"{reason}; no fallback technician could take it")
    _record_not_assigned(dispatch, f"Fallback routing found nobody for {dispatch.dispatch_number}: "
                                   f"{ranking.excluded_summary()}.")
    return None


def decline(dispatch: Dispatch, technician: User, reason: str | None = None) -> DispatchMetric | None:
    """The assigned technician declines: the dispatch goes to the fallbacks."""
    if dispatch.assigned_user_id != technician.id or dispatch.status != DispatchStatus.ASSIGNED:
        raise ValidationError(f"{technician.name} can only decline a dispatch assigned to them and not yet started.")
    return reroute(dispatch, f"declined by {technician.name}" + (f" ({reason})" if reason else ""))


def mark_unavailable(technician: User, reason: str, until: datetime | None = None) -> list[Dispatch]:
    """Set a technician unavailable and reroute their dispatches that have not started."""
    if not (reason or "").strip():
        raise ValidationError("Say why the technician is unavailable.", field="unavailable_reason")
    if until is not None and until <= utcnow():
        raise ValidationError("'Unavailable until' must be in the future.", field="unavailable_until")
    profile = db.session.scalar(select(TechnicianProfile).where(TechnicianProfile.user_id == technician.id))
    if profile is None:
        raise ValidationError(f"{technician.name} has no technician profile.")
    with transaction():
        profile.availability = Availability.UNAVAILABLE.value
        profile.unavailable_reason = reason.strip()
        profile.unavailable_until = until
    affected = list(db.session.scalars(
        select(Dispatch).where(Dispatch.assigned_user_id == technician.id,
                               Dispatch.status.in_((DispatchStatus.ASSIGNED, DispatchStatus.EN_ROUTE)))
        .order_by(Dispatch.id)
    ))
    for dispatch in affected:
        if dispatch.status == DispatchStatus.EN_ROUTE:
            continue  # already travelling: a manager decides
        try:
            reroute(dispatch, f"{technician.name} unavailable: {reason.strip()}")
        except DomainError as error:  # one dispatch changed under us: carry on with the others
            logger.warning("could not reroute %s: %s", dispatch.dispatch_number, error.message)
    return affected


def mark_available(technician: User) -> None:
    profile = db.session.scalar(select(TechnicianProfile).where(TechnicianProfile.user_id == technician.id))
    if profile is None:
        raise ValidationError(f"{technician.name} has no technician profile.")
    with transaction():
        profile.availability = Availability.AVAILABLE.value
        profile.unavailable_reason = None
        profile.unavailable_until = None


# --- Batch --------------------------------------------------------------------------------


PRIORITY_RANK = case(
    {"Critical": 0, "High": 1, "Normal": 2, "Low": 3}, value=Dispatch.priority, else_=4
)


@dataclass
class BatchReport:
    considered: int
    assigned: int
    left_created: int
    conflicts: int
    method: str
    total_cost: float
    greedy_total_cost: float
    elapsed_s: float

    def __str__(self) -> str:
        """One line for the job runs' summary."""
        if not self.considered:
            return "nothing was waiting"
        text = f"assigned {self.assigned} of {self.considered} waiting ({self.method})"
        if self.left_created:
            text += f"; {self.left_created} still waiting"
        if self.conflicts:
            text += f"; {self.conflicts} skipped on a conflicting change"
        return text


def assign_pending(limit: int = 1000) -> BatchReport:
    """Assign waiting dispatches as one batch at minimum total cost within capacities.

    The composite cost of a pair is how far the technician's score falls short of the
    dispatch's best score; the solver never does worse than greedy on the same input
    (``app.matching.assign_batch``). Each assignment then commits on its own, so a conflict
    with another worker skips one dispatch instead of failing the batch.
    """
    from app.matching import PoolScorer

    require_own_transactions("assign_pending")
    pending = list(db.session.scalars(
        select(Dispatch).where(Dispatch.status == DispatchStatus.CREATED.value)
        .order_by(PRIORITY_RANK, Dispatch.sla_due_at, Dispatch.id).limit(limit)
    ))
    if not pending:
        return BatchReport(0, 0, 0, 0, "none", 0.0, 0.0, 0.0)
    loaded = load_pool()
    pool = loaded.pool
    scorer = PoolScorer(pool, match_settings())
    requests = [request_for(d, loaded.loaded_at) for d in pending]
    distances = [distances_for(pool, r) for r in requests]
    # Composite cost 1 - score (inf where a hard constraint excludes the pair).
    cost = scorer.cost_matrix(requests, distances)
    result = _assign_prioritised(cost, np.maximum(pool.max_concurrent - pool.active_count, 0),
                                 [d.priority for d in pending])
    assigned = conflicts = 0
    for row, dispatch in enumerate(pending):
        # Reloaded after the previous commit: another worker may have assigned (or cancelled)
        # it since the batch was planned. Assigning it now would *reassign* it.
        if dispatch.status != DispatchStatus.CREATED:
            conflicts += 1
            continue
        column = int(result.assignments[row])
        if column < 0:
            _record_not_assigned(dispatch, f"Batch assignment found no technician for {dispatch.dispatch_number}; "
                                           "it stays Created.")
            continue
        scores = scorer.score(requests[row], distances[row])
        ranking = Ranking(dispatch.id, BUILTIN_MATCHER, _outcome_from_scores(scores, pool), loaded, requests[row],
                          distances[row], None, scores)
        try:
            assign_to(dispatch, int(pool.technician_ids[column]), mode="batch", ranking=ranking,
                      reason=f"Batch assignment ({result.method})", note=f"batch {result.method}")
            assigned += 1
        except DomainError:
            conflicts += 1  # another worker took the dispatch or the technician's last slot
    return BatchReport(len(pending), assigned, len(pending) - assigned - conflicts, conflicts, result.method,
                       float(result.total_cost), float(result.greedy_total_cost), float(result.elapsed_s))


@dataclass
class PrioritisedResult:
    assignments: np.ndarray
    method: str
    total_cost: float  # sum of (1 - score) over the assigned pairs
    greedy_total_cost: float  # the same for greedy in priority order, on the same input
    elapsed_s: float


#: Subtracted from every cost of a dispatch's row: more than the whole 0-1 cost range per
#: step, so when capacity is short an urgent dispatch always wins a slot over a less urgent
#: one. When everyone fits, the same offsets are in every solution and change nothing.
PRIORITY_BONUS = {"Critical": 3.0, "High": 2.0, "Normal": 1.0, "Low": 0.0}


def _assign_prioritised(cost: np.ndarray, capacity: np.ndarray, priorities: list[str]) -> PrioritisedResult:
    """Minimum-cost batch assignment in which urgency decides who waits when capacity is short."""
    from app.matching import assign_batch, greedy_assign

    bonus = np.array([PRIORITY_BONUS[p] for p in priorities], dtype=cost.dtype)
    solver_cost = cost - bonus[:, None]  # inf stays inf
    order = np.argsort(-bonus, kind="stable")  # greedy takes the most urgent first
    result = assign_batch(solver_cost, capacity, time_budget_s=float(current_app.config["MOTORPOOL_BATCH_TIME_BUDGET_S"]),
                          greedy_order=order)
    greedy = greedy_assign(solver_cost, capacity, order=order)

    def pairs_cost(assignments: np.ndarray) -> float:
        rows = np.flatnonzero(assignments >= 0)
        return float(cost[rows, assignments[rows]].astype(np.float64).sum())

    return PrioritisedResult(result.assignments, result.method, pairs_cost(result.assignments), pairs_cost(greedy),
                             float(result.elapsed_s))


def _outcome_from_scores(scores, pool, limit: int = RANK_LIMIT) -> MatchOutcome:
    from app.plugins.contracts import RankedCandidate

    return MatchOutcome(ranked=[
        RankedCandidate(int(pool.technician_ids[i]), float(scores.total[i]), scores.breakdown(int(i)))
        for i in scores.best(limit)
    ])


# --- Ranking before a dispatch exists, and estimates for a page ------------------------------


@dataclass
class PlannedDispatch:
    """The fields ``request_for`` reads, for a work order that has not been saved yet."""

    priority: str
    required_skill: str | None
    estimated_duration_hours: float
    sla_due_at: datetime | None
    due_date: datetime | None
    created_date: datetime
    dispatch_location: object | None = None
    major_location: object | None = None
    id: int | None = None


def rank_unsaved(asset, *, priority: str = DispatchPriority.NORMAL.value, required_skill: str | None = None,
                 estimated_duration_hours: float | None = None, due_date: datetime | None = None,
                 limit: int = RANK_LIMIT, loaded: LoadedPool | None = None) -> Ranking:
    """Rank technicians for a work order on ``asset`` as the form describes it, without saving anything.

    The same defaults as creation apply: the asset type's skill, 2 hours, and the SLA due
    time from the due date or the priority's SLA hours.
    """
    if priority not in [p.value for p in DispatchPriority]:
        priority = DispatchPriority.NORMAL.value
    now = loaded.loaded_at if loaded is not None else utcnow()
    skill = (required_skill or "").strip() or (asset.asset_type.default_skill if asset.asset_type else None)
    sla_hours = float(current_app.config["MOTORPOOL_SLA_HOURS"][priority])
    planned = PlannedDispatch(
        priority=priority,
        required_skill=skill,
        estimated_duration_hours=float(estimated_duration_hours or 2.0),
        sla_due_at=due_date or now + timedelta(hours=sla_hours),
        due_date=due_date,
        created_date=now,
        dispatch_location=asset.major_location,
        major_location=asset.major_location,
    )
    return rank(planned, limit=limit, loaded=loaded)


def candidate_estimates(ranking: Ranking, technician_ids) -> dict[int, dict]:
    """Estimated completion hours, cost, SLA and burnout for each technician, as a manager sees them.

    Pure computation on the ranking's pool (no queries); technicians outside the pool are left out.
    """
    from app.matching import assignment_metrics

    pool = ranking.loaded.pool
    settings = match_settings()
    estimates: dict[int, dict] = {}
    for technician_id in technician_ids:
        positions = np.flatnonzero(pool.technician_ids == technician_id)
        if positions.size == 0 or ranking.scores is None:
            continue
        estimates[int(technician_id)] = assignment_metrics(pool, ranking.scores, int(positions[0]), ranking.request,
                                                           ranking.distances, settings)
    return estimates
