"""The alert list (managers and admins) and the alerting settings (admins)."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.blueprints.admin.helpers import form_page, is_htmx, render_htmx, show_error
from app.blueprints.alerts import bp
from app.blueprints.alerts.forms import BandThresholdForm, SettingsForm, SilenceForm, ThresholdForm
from app.blueprints.security import roles_required
from app.extensions import db
from app.models import ALERT_STATES
from app.plugins.contracts import SEVERITIES
from app.services import alerting
from app.services.errors import DomainError, ValidationError

MANAGERS = ("manager", "admin")


@bp.app_context_processor
def _firing_count():
    def firing_alert_count() -> int:
        """The navigation's badge: firing alerts, for managers and admins only (one query)."""
        if not current_user.is_authenticated or not current_user.has_role(*MANAGERS):
            return 0
        return alerting.firing_count()

    return {"firing_alert_count": firing_alert_count}


def _filters() -> dict[str, str]:
    return {name: (request.args.get(name) or "").strip() for name in ("state", "severity", "category")}


def _silence_form(form: SilenceForm | None = None) -> SilenceForm:
    form = form or SilenceForm()
    form.category.choices = [(key, check.label) for key, check in alerting.known_checks().items()]
    return form


def _page_context(filters: dict[str, str], **extra):
    state = filters["state"] or "open"
    try:
        rows = alerting.list_alerts(state=state, severity=filters["severity"] or None,
                                    category=filters["category"] or None)
    except ValidationError as error:
        abort(400, error.message + " Clear the filters to see every open alert.")
    return {
        "alerts": rows,
        "filters": {**filters, "state": state},
        "states": ("open", *ALERT_STATES),
        "severities": SEVERITIES,
        "checks": alerting.known_checks(),
        "silences": alerting.active_silences(),
        "counts": alerting.open_alert_counts(),
        "format_value": alerting.format_value,
        **extra,
    }


@bp.get("/")
@roles_required(*MANAGERS)
def index():
    context = _page_context(_filters(), silence_form=_silence_form())
    return render_htmx("alerts/_alert_table.html", "alerts/index.html", **context)


def _row_answer(alert, message: str):
    if is_htmx():
        response = render_htmx("alerts/_alert_row.html", "alerts/index.html", alert=alert,
                               checks=alerting.known_checks(), format_value=alerting.format_value, notice=message)
        return response
    flash(message, "info")
    return redirect(request.referrer if request.referrer and request.referrer.startswith(request.host_url)
                    else url_for("alerts.index"))


@bp.post("/<int:alert_id>/acknowledge")
@roles_required(*MANAGERS)
def acknowledge(alert_id: int):
    alert = alerting.acknowledge(alert_id, current_user)
    return _row_answer(alert, f"Alert #{alert.id} acknowledged: no more repeats, no escalation.")


@bp.post("/<int:alert_id>/resolve")
@roles_required(*MANAGERS)
def resolve(alert_id: int):
    alert = alerting.resolve(alert_id, current_user, request.form.get("note"))
    return _row_answer(alert, f"Alert #{alert.id} resolved.")


def _silences_answer(form: SilenceForm, status: int = 200):
    context = {"silences": alerting.active_silences(), "silence_form": _silence_form(form),
               "checks": alerting.known_checks()}
    if is_htmx():
        return render_htmx("alerts/_silences.html", "alerts/index.html", status, **context)
    if status != 200:
        return render_template("alerts/index.html", **_page_context(_filters(), **context)), status
    return redirect(url_for("alerts.index"))


@bp.post("/silences")
@roles_required(*MANAGERS)
def silence():
    form = _silence_form()
    form.validate_on_submit()  # the service checks every value and says why
    try:
        row = alerting.silence(form.category.data or "", form.minutes.data, form.reason.data or "", current_user)
    except DomainError as error:
        db.session.rollback()
        show_error(form, error)
        return _silences_answer(form, 422)
    if not is_htmx():
        flash(f"{alerting.known_checks()[row.category].label} is silenced.", "info")
    return _silences_answer(SilenceForm(formdata=None))


@bp.post("/silences/<int:silence_id>/lift")
@roles_required(*MANAGERS)
def lift(silence_id: int):
    alerting.lift_silence(silence_id, current_user)
    if not is_htmx():
        flash("The silence is lifted.", "info")
    return _silences_answer(SilenceForm(formdata=None))


# --- Admin settings ------------------------------------------------------------------------------


@bp.route("/settings", methods=["GET", "POST"])
@roles_required("admin")
def settings():
    current = alerting.current_settings()
    form = SettingsForm(data={
        "quiet_hours_start": current.quiet_hours[0] if current.quiet_hours else "",
        "quiet_hours_end": current.quiet_hours[1] if current.quiet_hours else "",
        "suppression_minutes": str(current.suppression_minutes),
        "escalation_minutes": str(current.escalation_minutes),
    } if request.method == "GET" else None)

    def save(f: SettingsForm):
        return alerting.save_settings(quiet_hours_start=f.quiet_hours_start.data,
                                      quiet_hours_end=f.quiet_hours_end.data,
                                      suppression_minutes=f.suppression_minutes.data,
                                      escalation_minutes=f.escalation_minutes.data)

    return form_page(form, save=save, done=lambda _s: ("Alert settings saved.", url_for("alerts.settings")),
                     template="alerts/settings.html", current=current, thresholds=alerting.threshold_table(),
                     format_threshold=alerting.format_threshold)


@bp.route("/thresholds/<category>", methods=["GET", "POST"])
@roles_required("admin")
def threshold_edit(category: str):
    check = alerting.known_checks().get(category)
    if check is None:
        abort(404, f"There is no alert check {category!r}; pick one from the alerting settings.")
    values = alerting.effective_thresholds(check)
    banded = check.direction == "outside"
    if banded:
        data = {"warning_low": f"{values.warning[0]:g}", "warning_high": f"{values.warning[1]:g}",
                "critical_low": f"{values.critical[0]:g}", "critical_high": f"{values.critical[1]:g}"}
        form = BandThresholdForm(data=data if request.method == "GET" else None)
    else:
        form = ThresholdForm(data={"warning": f"{values.warning:g}", "critical": f"{values.critical:g}"}
                             if request.method == "GET" else None)
    unit = {"%": "A percentage, 0 to 100.", "s": "In seconds.", "h": "In hours.", "count": "A count.",
            "money": f"An amount in {current_app.config['MOTORPOOL_CURRENCY']}."}[check.unit]
    for field in form:
        if field.type == "StringField":
            field.description = unit

    def save(f):
        if banded:
            return alerting.set_thresholds(category, (f.warning_low.data, f.warning_high.data),
                                           (f.critical_low.data, f.critical_high.data))
        return alerting.set_thresholds(category, f.warning.data, f.critical.data)

    direction = {"below": "alerts when the value falls below a threshold",
                 "above": "alerts when the value rises above a threshold",
                 "outside": "alerts when the value leaves a band"}[check.direction]
    source = {"database": f"set by {values.updated_by or 'an admin'}", "configuration": "from the configuration",
              "default": "the check's defaults"}[values.source]
    return form_page(form, save=save,
                     done=lambda _r: (f"Thresholds of {check.label} saved.", url_for("alerts.settings")),
                     title=f"Thresholds: {check.label}", back=url_for("alerts.settings"),
                     action=url_for("alerts.threshold_edit", category=category),
                     # A description already ends with its full stop: one sentence each, not ". —".
                     note=f"{(check.description or check.label).rstrip('.')}. {direction[0].upper()}{direction[1:]}. Now: warning "
                          f"{alerting.format_threshold(check.unit, values.warning)}, critical "
                          f"{alerting.format_threshold(check.unit, values.critical)} ({source}).")
