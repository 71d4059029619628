"""The scheduler page: each job's schedule (editable), next run, "run now", and the recent runs."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for

from app.blueprints.admin import bp
from app.blueprints.admin.helpers import render_htmx
from app.blueprints.security import roles_required
from app.extensions import db
from app.services import scheduler as service
from app.services.errors import DomainError
from app.services.local_time import organisation_zone, zone_label

RUNS_PER_PAGE = 25


def _page(*, refused: dict | None = None, status: int = 200):
    page_number = request.args.get("page", type=int) or 1
    return render_htmx(
        "admin/_job_runs.html", "admin/scheduler.html", status,
        statuses=service.statuses(), runs=service.recent_runs(page_number, RUNS_PER_PAGE),
        weekdays=service.WEEKDAY_NAMES, zone=zone_label(organisation_zone()), refused=refused or {},
    )


def _job_or_404(name: str) -> service.Job:
    job = service.jobs().get(name)
    if job is None:
        abort(404, f"There is no job {name!r}.")
    return job


@bp.get("/scheduler")
@roles_required("admin")
def scheduler():
    return _page()


@bp.post("/scheduler/<job>")
@roles_required("admin")
def schedule_update(job: str):
    name = _job_or_404(job).name
    form = request.form
    try:
        service.update_schedule(name, enabled=form.get("enabled") == "1", interval=form.get("interval"),
                                at=form.get("at"), weekday=form.get("weekday"))
    except DomainError as error:
        db.session.rollback()
        return _page(refused={"job": name, "message": error.message, "field": getattr(error, "field", None),
                              "values": form}, status=422)
    flash(f"The schedule of {name} is saved; a running scheduler uses it within a minute.", "info")
    return redirect(url_for("admin.scheduler"))


@bp.post("/scheduler/<job>/run")
@roles_required("admin")
def job_run_now(job: str):
    name = _job_or_404(job).name
    result = service.run_now(name)
    if result.outcome == "failed":
        flash(f"{name} failed: {result.message}", "error")
    elif result.outcome == "succeeded":
        flash(f"{name} succeeded in {result.run.duration_ms} ms{': ' + result.message if result.message else ''}.", "info")
    else:
        flash(f"{name} did not run: {result.message}.", "info")
    return redirect(url_for("admin.scheduler"))
