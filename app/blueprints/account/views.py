"""The signed-in user's own account: sessions in use, the password and the time zone."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from app.blueprints.account import bp
from app.blueprints.account.forms import PasswordChangeForm, TimeZoneForm
from app.blueprints.admin.helpers import show_error
from app.blueprints.formatting import zone_label
from app.extensions import db
from app.services import auth_sessions, users
from app.services.errors import DomainError


def _page(form: PasswordChangeForm | None = None, error: str | None = None, status: int = 200,
          zone_form: TimeZoneForm | None = None):
    return render_template(
        "account/index.html", form=form or PasswordChangeForm(formdata=None),
        zone_form=zone_form or TimeZoneForm(formdata=None, time_zone=current_user.time_zone),
        sessions=auth_sessions.active_sessions(current_user), current=auth_sessions.current_session(), error=error,
    ), status


@bp.get("/")
@login_required
def index():
    return _page()


@bp.post("/password")
@login_required
def password():
    form = PasswordChangeForm()
    if form.validate_on_submit():
        try:
            users.change_own_password(current_user, current=form.current_password.data, new=form.new_password.data)
        except DomainError as error:
            db.session.rollback()
            show_error(form, error)
        else:
            flash("Your password is changed; your other sessions are signed out.", "info")
            return redirect(url_for("account.index"))
    return _page(form, status=422)


@bp.post("/time-zone")
@login_required
def time_zone():
    form = TimeZoneForm()
    if form.validate_on_submit():
        try:
            users.set_own_time_zone(current_user, form.time_zone.data)
        except DomainError as error:
            db.session.rollback()
            show_error(form, error)
        else:
            flash(f"Times are now shown and typed in {zone_label()}.", "info")
            return redirect(url_for("account.index"))
    return _page(zone_form=form, status=422)


@bp.post("/sessions/<int:session_id>/revoke")
@login_required
def session_revoke(session_id: int):
    try:
        auth_sessions.revoke_own_session(current_user, session_id)
    except DomainError as error:
        db.session.rollback()
        return _page(error=error.message, status=404)
    flash("That session is signed out.", "info")
    return redirect(url_for("account.index"))


@bp.post("/sessions/revoke-others")
@login_required
def sessions_revoke_others():
    count = auth_sessions.revoke_all(current_user, reason="signed out from another session",
                                     keep=auth_sessions.current_session())
    flash(f"Signed out {count} other session(s)." if count else "There were no other sessions.", "info")
    return redirect(url_for("account.index"))
