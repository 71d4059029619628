"""The signed-in user's own account: sessions in use, the password and the time zone."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from app.blueprints.account import bp
from app.blueprints.account.forms import PasswordChangeForm, TimeZoneForm, TokenForm, TokenRenameForm
from app.blueprints.admin.helpers import show_error
from app.blueprints.formatting import zone_label
from app.extensions import db
from app.services import api_tokens, auth_sessions, users
from app.services.errors import DomainError


def _page(form: PasswordChangeForm | None = None, error: str | None = None, status: int = 200,
          zone_form: TimeZoneForm | None = None, token_form: TokenForm | None = None, new_secret: str | None = None):
    return render_template(
        "account/index.html", form=form or PasswordChangeForm(formdata=None),
        zone_form=zone_form or TimeZoneForm(formdata=None, time_zone=current_user.time_zone),
        token_form=token_form or TokenForm(formdata=None), rename_form=TokenRenameForm(formdata=None),
        tokens=api_tokens.tokens_of(current_user), token_state=api_tokens.state, new_secret=new_secret,
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


@bp.post("/tokens")
@login_required
def token_create():
    """A new API token; its secret is on this answer only (never stored, never shown again)."""
    form = TokenForm()
    if form.validate_on_submit():
        try:
            new = api_tokens.create_token(current_user, form.name.data, expires_in_days=form.expires_in_days.data)
        except DomainError as error:
            db.session.rollback()
            show_error(form, error)
        else:
            return _page(new_secret=new.secret)
    return _page(token_form=form, status=422)


@bp.post("/tokens/<int:token_id>/rename")
@login_required
def token_rename(token_id: int):
    form = TokenRenameForm()
    try:
        if not form.validate_on_submit():
            from app.services.errors import ValidationError

            raise ValidationError("A token's name is at most 100 characters.", field="name")
        api_tokens.rename_token(current_user, token_id, form.name.data)
    except DomainError as error:
        db.session.rollback()
        return _page(error=error.message, status=404 if "does not exist" in error.message else 422)
    flash("The token is renamed.", "info")
    return redirect(url_for("account.index"))


@bp.post("/tokens/<int:token_id>/revoke")
@login_required
def token_revoke(token_id: int):
    try:
        token = api_tokens.revoke_token(current_user, token_id)
    except DomainError as error:
        db.session.rollback()
        return _page(error=error.message, status=404 if "does not exist" in error.message else 422)
    flash(f"Token {token.prefix}… ({token.name}) is revoked; it stops working at once.", "info")
    return redirect(url_for("account.index"))
