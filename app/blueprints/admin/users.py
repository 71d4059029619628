"""Accounts and technician profiles."""

from __future__ import annotations

from datetime import time

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.blueprints.admin import bp
from app.blueprints.admin.forms import (
    SkillLevelForm,
    TechnicianProfileForm,
    UnavailableForm,
    UserEditForm,
    UserForm,
)
from app.blueprints.admin.helpers import form_page, get_or_404, show_error, toggle
from app.blueprints.security import roles_required
from app.extensions import db
from app.models import AuthEventKind, Role, Skill, TechnicianProfile, TechnicianSkill, User
from app.services import auth_sessions
from app.services import local_time as zones
from app.services.local_time import format_local
from app.services import technicians as technician_service
from app.services import users as user_service
from app.services.errors import DomainError, each_error

# --- Users -------------------------------------------------------------------------------

#: The sign-in activity page shows this many of the newest events.
SIGN_IN_ACTIVITY_ROWS = 200


def _users_page(error: str | None = None) -> str:
    users = db.session.scalars(
        select(User).order_by(User.is_system, User.is_active_user.desc(), User.role, User.name)
    ).all()
    return render_template("admin/users.html", users=users, error=error)


@bp.get("/users")
@roles_required("admin")
def users():
    return _users_page()


@bp.route("/users/new", methods=["GET", "POST"])
@roles_required("admin")
def user_new():
    form = UserForm()
    return form_page(
        form,
        save=lambda f: user_service.create_user(email=f.email.data, name=f.name.data, role=f.role.data,
                                                password=f.password.data),
        done=lambda u: (f"Added {u.name} ({u.role}).",
                        url_for("admin.technician_profile", user_id=u.id) if u.role == Role.TECHNICIAN
                        else url_for("admin.users")),
        title="New user", action=url_for("admin.user_new"), back=url_for("admin.users"),
    )


def _editable_user(user_id: int) -> User:
    user = get_or_404(User, user_id)
    if user.is_system:
        abort(404, "The system user records command-line work and is not edited here.")
    return user


@bp.route("/users/<int:user_id>/edit", methods=["GET", "POST"])
@roles_required("admin")
def user_edit(user_id: int):
    user = _editable_user(user_id)
    form = UserEditForm(obj=user)
    if request.method == "GET":
        form.password.data = ""
    return form_page(
        form,
        save=lambda f: user_service.update_user(user, email=f.email.data, name=f.name.data, role=f.role.data,
                                                password=f.password.data or None, actor=current_user,
                                                time_zone=f.time_zone.data),
        done=lambda u: (f"Saved {u.name}.", url_for("admin.users")),
        title=f"Edit user {user.name}", action=url_for("admin.user_edit", user_id=user.id), back=url_for("admin.users"),
        readonly=[("Last sign-in", format_local(user.last_login_at, empty="never"))],
        template="admin/user_edit.html", user=user, sessions=auth_sessions.active_sessions(user),
        current=auth_sessions.current_session(), events=auth_sessions.recent_events(user_id=user.id, limit=20),
    )


@bp.post("/users/<int:user_id>/sessions/revoke")
@roles_required("admin")
def user_sign_out(user_id: int):
    user = _editable_user(user_id)
    keep = auth_sessions.current_session() if user.id == current_user.id else None
    count = auth_sessions.revoke_all(user, reason="signed out everywhere by an admin", keep=keep)
    flash(f"Signed {user.name} out of {count} session(s)." if count else f"{user.name} had no active sessions.", "info")
    return redirect(url_for("admin.user_edit", user_id=user.id))


@bp.get("/sign-in-activity")
@roles_required("admin")
def sign_in_activity():
    kind = request.args.get("kind", "")
    kinds = [k.value for k in AuthEventKind]
    if kind not in kinds:
        kind = ""
    events = auth_sessions.recent_events(kind=kind or None, limit=SIGN_IN_ACTIVITY_ROWS)
    return render_template("admin/sign_in_activity.html", events=events, kinds=kinds, kind=kind,
                           limit=SIGN_IN_ACTIVITY_ROWS)


@bp.post("/users/<int:user_id>/active")
@roles_required("admin")
def user_active(user_id: int):
    user = get_or_404(User, user_id)
    return toggle(user, lambda u, active: user_service.set_user_active(u, active, actor=current_user),
                  name=user.name, target=url_for("admin.users"), refused=_users_page)


# --- Technician profiles -----------------------------------------------------------------


def _technicians_page(error: str | None = None) -> str:
    technicians = db.session.scalars(
        select(User).where(User.role == Role.TECHNICIAN.value, User.is_system.is_(False))
        .order_by(User.is_active_user.desc(), User.name)
    ).all()
    profiles = {
        p.user_id: p for p in db.session.scalars(
            select(TechnicianProfile)
            .where(TechnicianProfile.user_id.in_([t.id for t in technicians] or [0]))
            .options(selectinload(TechnicianProfile.skills).joinedload(TechnicianSkill.skill))
        )
    }
    return render_template("admin/technicians.html", technicians=technicians, profiles=profiles, error=error)


@bp.app_template_filter("shift_days")
def shift_days_filter(digits: str | None) -> str:
    return technician_service.shift_days_text(digits)


@bp.get("/technicians")
@roles_required("admin")
def technicians():
    return _technicians_page()


def _technician(user_id: int) -> tuple[User, TechnicianProfile | None]:
    user = get_or_404(User, user_id)
    if user.role != Role.TECHNICIAN or user.is_system:
        abort(404, f"{user.name} is not a technician.")
    profile = db.session.scalar(select(TechnicianProfile).where(TechnicianProfile.user_id == user.id))
    return user, profile


def _profile_page(user: User, profile: TechnicianProfile | None, *, form=None, skill_form=None,
                  unavailable_form=None, error: str | None = None, status: int = 200):
    if form is None:
        form = _profile_form(profile, formdata=None)
    if skill_form is None:
        skill_form = SkillLevelForm(formdata=None)
    skill_form.skill.choices = [("", "Choose a skill…")] + [
        (s, s) for s in db.session.scalars(select(Skill.name).order_by(Skill.name))
    ]
    if unavailable_form is None:
        unavailable_form = UnavailableForm(formdata=None)
    zone = zones.zone_label(zones.zone_of(user))
    form.shift_start.label.text = f"Shift start ({zone})"
    form.shift_end.label.text = f"Shift end ({zone})"
    skills = []
    if profile is not None:
        skills = db.session.scalars(
            select(TechnicianSkill).where(TechnicianSkill.technician_profile_id == profile.id)
            .options(selectinload(TechnicianSkill.skill))
        ).all()
        skills = sorted(skills, key=lambda held: held.skill.name)
    return render_template(
        "admin/technician_profile.html", technician=user, profile=profile, form=form, skill_form=skill_form,
        unavailable_form=unavailable_form, skills=skills, error=error,
    ), status


#: What a new profile starts with (the model's defaults).
PROFILE_DEFAULTS = {"hourly_rate": 40.0, "overtime_multiplier": 1.5, "shift_days": "12345", "shift_start": time(7, 0),
                    "shift_end": time(17, 0), "max_concurrent_dispatches": 3, "max_hours_per_week": 40.0}


def _profile_form(profile: TechnicianProfile | None, **kwargs) -> TechnicianProfileForm:
    if profile is not None:
        form = TechnicianProfileForm(obj=profile, **kwargs)
    else:
        form = TechnicianProfileForm(data=PROFILE_DEFAULTS, **kwargs)
    locations = technician_service.home_locations()
    form.home_location_id.choices = [(0, "Other: the address or the coordinates below")] + [
        (loc.id, f"{loc.name}" + (f" — {loc.address}" if loc.address else "")) for loc in locations]
    if request.method == "GET" and profile is not None:
        # The home is shown as the location it is at, when it is at one.
        home = (profile.home_latitude, profile.home_longitude)
        form.home_location_id.data = next((loc.id for loc in locations if (loc.latitude, loc.longitude) == home), 0)
    return form


#: The profile values the form edits as typed (the home base and the shift days are mapped).
_PROFILE_VALUES = ("hourly_rate", "overtime_multiplier", "shift_start", "shift_end", "max_concurrent_dispatches",
                   "max_hours_per_week")


def _profile_values(form: TechnicianProfileForm) -> dict:
    values = {name: form[name].data for name in _PROFILE_VALUES}
    values["shift_days"] = form.shift_days.digits
    return values


@bp.route("/technicians/<int:user_id>/profile", methods=["GET", "POST"])
@roles_required("admin")
def technician_profile(user_id: int):
    user, profile = _technician(user_id)
    form = _profile_form(profile)
    if request.method == "POST":
        valid = form.validate_on_submit()
        try:
            values = _profile_values(form)
            values["home_latitude"], values["home_longitude"] = technician_service.home_base(
                location_id=form.home_location_id.data, address=form.home_address.data,
                latitude=form.home_latitude.data, longitude=form.home_longitude.data)
            if valid:
                technician_service.save_profile(user, **values)
            else:
                # The form refused some values; the service still checks the others, so
                # that every problem is shown at once.
                technician_service.check_values({k: v for k, v in values.items() if v not in (None, "")})
        except DomainError as error:
            db.session.rollback()
            for single in each_error(error):  # a field the form refused already keeps that one message
                if not (single.field and single.field in form and form[single.field].errors):
                    show_error(form, single)
        else:
            if valid:
                flash(f"Saved {user.name}'s profile.", "info")
                return redirect(url_for("admin.technician_profile", user_id=user.id))
        db.session.rollback()
        return _profile_page(user, _reload_profile(user), form=form, status=422)
    return _profile_page(user, profile, form=form)


def _reload_profile(user: User) -> TechnicianProfile | None:
    return db.session.scalar(select(TechnicianProfile).where(TechnicianProfile.user_id == user.id))


@bp.post("/technicians/<int:user_id>/skills")
@roles_required("admin")
def technician_skill(user_id: int):
    user, profile = _technician(user_id)
    skill_form = SkillLevelForm()
    skill_form.skill.choices = [(s, s) for s in db.session.scalars(select(Skill.name).order_by(Skill.name))]
    if skill_form.validate_on_submit():
        try:
            technician_service.set_skill(user, skill_form.skill.data, skill_form.level.data)
        except DomainError as error:
            db.session.rollback()
            show_error(skill_form, error)
        else:
            flash(f"{user.name}: {skill_form.skill.data} level {skill_form.level.data}.", "info")
            return redirect(url_for("admin.technician_profile", user_id=user.id))
    return _profile_page(user, profile, skill_form=skill_form, status=422)


@bp.post("/technicians/<int:user_id>/skills/<int:skill_id>/remove")
@roles_required("admin")
def technician_skill_remove(user_id: int, skill_id: int):
    user, profile = _technician(user_id)
    try:
        technician_service.remove_skill(user, skill_id)
    except DomainError as error:
        db.session.rollback()
        return _profile_page(user, profile, error=error.message, status=404)
    flash(f"Removed the skill from {user.name}.", "info")
    return redirect(url_for("admin.technician_profile", user_id=user.id))


@bp.post("/technicians/<int:user_id>/availability")
@roles_required("admin")
def technician_availability(user_id: int):
    user, profile = _technician(user_id)
    if request.form.get("active") == "1":
        try:
            technician_service.reactivate_profile(user)
        except DomainError as error:
            db.session.rollback()
            return _profile_page(user, profile, error=error.message, status=422)
        flash(f"{user.name} is available for new dispatches again.", "info")
        return redirect(url_for("admin.technician_profile", user_id=user.id))
    form = UnavailableForm()
    if form.validate_on_submit():
        try:
            moved = technician_service.deactivate_profile(user, form.unavailable_reason.data,
                                                          form.unavailable_until.data)
        except DomainError as error:
            db.session.rollback()
            show_error(form, error)
        else:
            flash(f"{user.name} is unavailable; {len(moved)} of their dispatches were rerouted or left to a manager.",
                  "info")
            return redirect(url_for("admin.technician_profile", user_id=user.id))
    return _profile_page(user, _reload_profile(user), unavailable_form=form, status=422)
