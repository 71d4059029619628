"""Checklist (dispatch detail row) sign-off."""

from __future__ import annotations

from app.extensions import db
from app.models import DispatchDetailVirtual, User, utcnow
from app.services import lifecycle
from app.services.errors import PermissionDenied, ValidationError
from app.services.transaction import transaction


def sign_off(detail: DispatchDetailVirtual, actor: User) -> DispatchDetailVirtual:
    """Record who signed the checklist off and when; refuses a second sign-off.

    Only the assigned technician, a manager or an admin may sign off, and only while the
    dispatch is open.
    """
    dispatch = detail.dispatch
    if detail.is_signed_off:
        raise ValidationError(f"This {detail.label.lower()} was already signed off; it cannot be signed off twice.")
    if dispatch.is_final:
        raise ValidationError(f"{dispatch.dispatch_number} is {dispatch.status}; its checklists can no longer change.")
    if actor.role == "technician" and dispatch.assigned_user_id != actor.id:
        raise PermissionDenied(f"Only the technician assigned to {dispatch.dispatch_number} can sign off its checklists.")
    with transaction():
        setattr(detail, detail.signed_off_by_column, actor.id)
        setattr(detail, detail.signed_off_at_column, utcnow())
        if hasattr(detail, "safety_check_completed"):
            detail.safety_check_completed = True
        db.session.flush()
        lifecycle.queue("motorpool_dispatch_detail_completed", dispatch=dispatch, detail=detail, actor=actor)
    return detail
