"""The eight built-in alert checks: each business metric (``app.services.metrics``) as an ``AlertCheck``.

Registered like any plugin's checks (hook ``motorpool_alert_checks``). Each ``measure``
reads one metric over the window and returns the fleet-wide reading, plus one reading per
technician where the metric has one (first-time fix, utilisation), with a message that
states the figures. The thresholds here are the defaults; admins override them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.plugins import hookimpl
from app.plugins.contracts import AlertCheck, MetricReading, MetricWindow
from app.services import metrics

#: How many dispatch numbers or names a message spells out before "…".
NAMED_IN_MESSAGE = 5


# --- Wording helpers ------------------------------------------------------------------------


def _percent(value: float | None) -> str:
    return "no data" if value is None else f"{value:.1f} %"


_duration = metrics.duration_text


def _money(amount: float | None) -> str:
    from app.blueprints.formatting import money

    return money(amount, "no data")


def _hours(hours: float | None) -> str:
    return "no data" if hours is None else f"{hours:.1f} h"


def _names(items: Sequence[str], total: int) -> str:
    shown = list(items)[:NAMED_IN_MESSAGE]
    return ", ".join(shown) + (", …" if total > len(shown) else "")


def _plural(count: int, one: str, many: str | None = None) -> str:
    return f"{count} {one if count == 1 else (many or one + 's')}"


def _details(figures: Any, **extra: Any) -> dict[str, Any]:
    return {**metrics.jsonable(figures), **extra}


# --- 1. SLA compliance ----------------------------------------------------------------------


def measure_sla(window: MetricWindow) -> list[MetricReading]:
    sla = metrics.sla_compliance(window)
    when = metrics.window_text(window)
    if sla.rate is None:
        text = f"SLA compliance: no data (nothing completed {when})"
    else:
        text = f"SLA compliance {_percent(sla.rate)} ({sla.within_sla} of {sla.completed} completed {when} within SLA)"
    if sla.open_past_sla:
        text += f"; {sla.open_past_sla} open past SLA: {_names([f.number for f in sla.past_sla], sla.open_past_sla)}"
    else:
        text += "; no open work past its SLA"
    return [MetricReading(sla.rate, text, details=_details(sla, rate=sla.rate))]


# --- 2. Routing speed -----------------------------------------------------------------------


def measure_routing(window: MetricWindow) -> list[MetricReading]:
    speed = metrics.routing_speed(window, limit_seconds=ROUTING_WARNING)
    when = metrics.window_text(window)
    if speed.p95_seconds is None:
        text = f"Routing speed: no data (nothing assigned {when})"
    else:
        text = (f"Routing speed p95 {_duration(speed.p95_seconds)} (p50 {_duration(speed.p50_seconds)}, worst "
                f"{_duration(speed.worst_seconds)}, over {_plural(speed.assignments, 'assignment')} {when})")
    if speed.waiting_over:
        text += (f"; {speed.waiting_over} waiting unassigned longer than "
                 f"{_duration(speed.waiting_threshold_seconds)}: "
                 f"{_names([f'{f.number} ({_duration(f.value)})' for f in speed.waiting], speed.waiting_over)}")
    return [MetricReading(speed.p95_seconds, text, details=_details(speed))]


# --- 3. Estimated completion ----------------------------------------------------------------


def measure_completion(window: MetricWindow) -> list[MetricReading]:
    figure = metrics.completion_estimates(window, limit_hours=COMPLETION_WARNING)
    when = metrics.window_text(window)
    if figure.worst is None:
        text = f"Estimated completion: no data (no estimate {when})"
    else:
        text = (f"Longest estimated completion {_hours(figure.worst)} over "
                f"{_plural(figure.assignments, 'assignment')} {when} (average {_hours(figure.average)})")
        if figure.above:
            listed = [f"{f.number} ({_hours(f.value)})" for f in figure.offenders]
            text += f"; {figure.above} above {_hours(figure.limit)}: {_names(listed, figure.above)}"
    return [MetricReading(figure.worst, text, details=_details(figure))]


# --- 4. Operational cost --------------------------------------------------------------------


def measure_cost(window: MetricWindow) -> list[MetricReading]:
    figure = metrics.operational_cost(window, limit_cost=COST_WARNING)
    when = metrics.window_text(window)
    if figure.worst is None:
        text = f"Operational cost: no data (no costed assignment {when})"
    else:
        text = (f"Highest operational cost {_money(figure.worst)} per dispatch over "
                f"{_plural(figure.assignments, 'assignment')} {when} (average {_money(figure.average)}, "
                f"total {_money(figure.total)})")
        if figure.above:
            listed = [f"{f.number} ({_money(f.value)})" for f in figure.offenders]
            text += f"; {figure.above} above {_money(figure.limit)}: {_names(listed, figure.above)}"
    return [MetricReading(figure.worst, text, details=_details(figure))]


# --- 5. Pending queue -----------------------------------------------------------------------


def measure_queue(window: MetricWindow) -> list[MetricReading]:
    queue = metrics.pending_queue(window)
    if not queue.waiting:
        text = "No dispatch is waiting for a technician"
    else:
        order = ("Critical", "High", "Normal", "Low")
        split = ", ".join(f"{p} {queue.by_priority[p]}" for p in sorted(queue.by_priority, key=lambda p: (
            order.index(p) if p in order else len(order), p)))
        oldest = queue.items[0] if queue.items else None
        text = f"{_plural(queue.waiting, 'dispatch', 'dispatches')} waiting for a technician ({split})"
        if oldest is not None:
            text += f"; oldest waiting {_duration(oldest.value)}: {oldest.number}"
    return [MetricReading(float(queue.waiting), text, details=_details(queue))]


# --- 6. First-time fix ----------------------------------------------------------------------


def measure_first_time_fix(window: MetricWindow) -> list[MetricReading]:
    ftf = metrics.first_time_fix(window)
    when = metrics.window_text(window)
    if ftf.rate is None:
        text = f"First-time-fix rate: no data (nothing completed {when})"
    else:
        text = (f"First-time-fix rate {_percent(ftf.rate)} ({ftf.fixed_first_time} of {ftf.completed} completed "
                f"{when} fixed the first time)")
    readings = [MetricReading(ftf.rate, text, details=_details(
        {"completed": ftf.completed, "fixed_first_time": ftf.fixed_first_time, "min_sample": ftf.min_sample},
        rate=ftf.rate))]
    for tech in ftf.technicians:
        if tech.rate is None:
            line = (f"First-time-fix rate of {tech.name}: no data ({_plural(tech.count, 'completion')} {when}, "
                    f"fewer than the {ftf.min_sample} needed)")
        else:
            line = (f"First-time-fix rate of {tech.name} {_percent(tech.rate)} ({tech.hits} of {tech.count} "
                    f"completed {when} fixed the first time)")
        readings.append(MetricReading(tech.rate, line, subject=f"technician:{tech.technician_id}",
                                      subject_label=tech.name, details=_details(tech, min_sample=ftf.min_sample)))
    return readings


# --- 7. Burnout -----------------------------------------------------------------------------


def measure_burnout(window: MetricWindow) -> list[MetricReading]:
    figure = metrics.burnout(window)
    when = metrics.window_text(window)
    if not figure.at_risk:
        text = f"No technician at high burnout risk ({_plural(figure.assessed, 'technician')} assessed {when})"
    else:
        listed = [f"{t.name} ({t.risk * 100:.0f} %)" if t.risk is not None else t.name for t in figure.technicians]
        text = (f"{_plural(figure.at_risk, 'technician')} at high burnout risk: {_names(listed, figure.at_risk)} "
                f"(of {figure.assessed} assessed {when})")
    return [MetricReading(float(figure.at_risk), text, details=_details(figure))]


# --- 8. Utilisation -------------------------------------------------------------------------


def measure_utilisation(window: MetricWindow) -> list[MetricReading]:
    use = metrics.utilisation(window)
    when = metrics.window_text(window)
    if use.rate is None:
        text = f"Utilisation: no data (no shift hours {when})"
    else:
        text = f"Utilisation {_percent(use.rate)} ({use.booked_hours:.1f} of {use.shift_hours:.1f} shift hours booked {when})"
    readings = [MetricReading(use.rate, text, details=_details(
        {"booked_hours": use.booked_hours, "shift_hours": use.shift_hours, "technicians": len(use.technicians)},
        rate=use.rate))]
    for tech in use.technicians:
        if tech.rate is None:
            line = (f"Utilisation of {tech.name}: no data ({tech.shift_hours:.1f} shift hours {when}, fewer than "
                    f"the {tech.min_shift_hours:g} needed; {tech.booked_hours:.1f} h booked)")
        else:
            line = (f"Utilisation of {tech.name} {_percent(tech.rate)} ({tech.booked_hours:.1f} of "
                    f"{tech.shift_hours:.1f} shift hours booked {when})")
        readings.append(MetricReading(tech.rate, line, subject=f"technician:{tech.technician_id}",
                                      subject_label=tech.name, details=_details(tech, rate=tech.rate)))
    return readings


# --- The checks -----------------------------------------------------------------------------

ROUTING_WARNING = metrics.DEFAULT_ROUTING_LIMIT_SECONDS
COMPLETION_WARNING = metrics.DEFAULT_COMPLETION_LIMIT_HOURS
COST_WARNING = metrics.DEFAULT_COST_LIMIT

CHECKS: tuple[AlertCheck, ...] = (
    AlertCheck("sla_compliance", "SLA compliance", "%", "below", 85.0, 70.0, measure_sla,
               "Dispatches completed within their SLA, as a share of those completed in the window."),
    AlertCheck("routing_speed", "Routing speed", "s", "above", ROUTING_WARNING, 300.0, measure_routing,
               "95th percentile of the seconds from creation to assignment, over the window's assignments."),
    AlertCheck("completion_time", "Estimated completion time", "h", "above", COMPLETION_WARNING, 8.0,
               measure_completion, "The longest estimated time to completion among the window's assignments."),
    AlertCheck("operational_cost", "Operational cost per dispatch", "money", "above", COST_WARNING, 500.0,
               measure_cost, "The highest estimated operational cost of one dispatch among the window's assignments."),
    AlertCheck("pending_queue", "Pending queue", "count", "above", 10.0, 20.0, measure_queue,
               "Dispatches waiting for a technician (Created, nobody assigned)."),
    AlertCheck("first_time_fix", "First-time-fix rate", "%", "below", 75.0, 60.0, measure_first_time_fix,
               "Dispatches completed by the only technician they were assigned to, as a share of those completed; "
               "fleet-wide and per technician (from the minimum sample)."),
    # Whole technicians: above 2 is 3 or more, above 4 is 5 or more.
    AlertCheck("burnout_risk", "Technicians at high burnout risk", "count", "above", 2.0, 4.0, measure_burnout,
               "Technicians whose latest assignment in the window raised the burnout alert; "
               "above 2 means 3 or more."),
    AlertCheck("utilisation", "Utilisation", "%", "outside", (50.0, 90.0), (40.0, 95.0), measure_utilisation,
               "Booked work hours as a share of shift hours in the window; fleet-wide and per technician."),
)


@hookimpl(trylast=True)
def motorpool_alert_checks():
    return list(CHECKS)
