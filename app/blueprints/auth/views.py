from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from app.blueprints.auth import bp
from app.blueprints.auth.forms import LoginForm
from app.blueprints.security import safe_path
from app.extensions import db
from app.services import auth_sessions, sign_in_throttle, users


def _safe_next(target: str | None) -> str:
    """Only redirect to a plain path on this site (``safe_path``), else home."""
    return safe_path(target) or url_for("main.home")


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm()
    status = 422 if request.method == "POST" else 200
    headers = {}
    if form.validate_on_submit():
        try:
            # Before the password is checked: while blocked, even the right one waits.
            sign_in_throttle.check(form.email.data)
        except sign_in_throttle.SignInThrottled as refusal:
            form.password.errors.append(refusal.message)
            status, headers = 429, {"Retry-After": str(refusal.retry_after)}
        else:
            user = users.authenticate(form.email.data, form.password.data)
            if user is not None:
                sign_in_throttle.record_success(form.email.data)
                auth_sessions.sign_in(user)
                return redirect(_safe_next(request.args.get("next")))
            db.session.rollback()
            sign_in_throttle.record_failure(form.email.data)
            form.password.errors.append("Email or password is wrong. Check both and try again.")
    return render_template("auth/login.html", form=form), status, headers


@bp.post("/logout")
@login_required
def logout():
    auth_sessions.sign_out(current_user._get_current_object())
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))
