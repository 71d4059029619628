"""Small pieces every admin view shares: HTMX-aware rendering, errors on forms, lookups."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request
from flask_wtf import FlaskForm

from app.extensions import db
from app.services.errors import DomainError, each_error
from app.services.transaction import transaction


def is_htmx() -> bool:
    """An htmx request that wants a fragment (not a boosted link nor a history restore)."""
    headers = request.headers
    return bool(headers.get("HX-Request")) and not headers.get("HX-Boosted") and not headers.get(
        "HX-History-Restore-Request"
    )


def render_htmx(_fragment: str, _page: str, _status: int = 200, /, **context: Any):
    """The fragment alone for htmx, else the full page (which includes the same fragment)."""
    template = _fragment if is_htmx() else _page
    response = current_app.make_response((render_template(template, **context), _status))
    response.vary.add("HX-Request")
    return response


def show_error(form: FlaskForm, error: DomainError, fields: dict[str, str] | None = None) -> None:
    """Put each of a service's refusals next to the field it names, or above the form.

    ``fields`` maps a service's field name to the form's where they differ (the service
    says ``shift_days``, the form shows seven check boxes under another name).
    """
    for single in each_error(error):
        name = (fields or {}).get(single.field or "", single.field or "")
        field = getattr(form, name, None)
        if field is not None and hasattr(field, "errors") and name != "submit":
            # WTForms gives a tuple when the field was not validated.
            field.errors = [*field.errors, single.message]
        else:
            form.form_errors.append(single.message)


def get_or_404(model: type, record_id: int):
    record = db.session.get(model, record_id)
    if record is None:
        abort(404, f"There is no {model.__name__} #{record_id}; it may have been removed.")
    return record


def posted_flag(name: str = "active") -> bool:
    """A posted 1/0 choice; anything else is a malformed request."""
    value = request.form.get(name)
    if value not in {"0", "1"}:
        abort(400, f"Send {name}=1 or {name}=0.")
    return value == "1"


def form_page(
    form: FlaskForm,
    *,
    save: Callable[[FlaskForm], Any],
    done: Callable[[Any], tuple[str, str]],
    template: str = "admin/form.html",
    **context: Any,
):
    """Validate, call the service, and either redirect (flashing ``done``'s message) or
    show the form again with what was typed and the refusal: 422 for a refused POST."""
    if form.validate_on_submit():
        try:
            record = save(form)
        except DomainError as error:
            db.session.rollback()
            show_error(form, error)
        else:
            message, target = done(record)
            flash(message, "info")
            return redirect(target)
    elif request.method == "POST":
        _show_service_refusals(form, save)
    status = 422 if request.method == "POST" else 200
    return render_template(template, form=form, **context), status


class _CheckOnly(Exception):
    """Ends a save that was run only to learn what else the service refuses."""


def _show_service_refusals(form: FlaskForm, save: Callable[[FlaskForm], Any]) -> None:
    """The form refused some values; run the save anyway, always rolled back, so that the
    service's refusals of the other values are shown too — every problem at once.

    A value the form refused reaches the service as missing; its refusal of that field is
    left out, the form's own message already being there.
    """
    try:
        with transaction():
            save(form)
            raise _CheckOnly
    except (_CheckOnly, TypeError, AttributeError):
        # A service that cannot take a refused (missing) value at all has nothing to add:
        # the form's own messages stand.
        pass
    except DomainError as error:
        for single in each_error(error):
            field = getattr(form, single.field or "", None)
            if field is None or not field.errors:
                show_error(form, single)
    finally:
        db.session.rollback()


def toggle(record: Any, setter: Callable[[Any, bool], None], *, name: str, target: str, refused: Callable[[str], Any]):
    """Activate or deactivate ``record``; a refusal re-renders the list (``refused``) with 422."""
    active = posted_flag()
    try:
        setter(record, active)
    except DomainError as error:
        db.session.rollback()
        return refused(error.message), 422
    flash(f"{name} is {'active again' if active else 'deactivated'}.", "info")
    return redirect(target)
