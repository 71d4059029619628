"""Filling checklists in tests, through the same service the pages use."""

from __future__ import annotations

from app.models import DispatchDetailVirtual, User
from app.services import checklists


def answer_for(item: checklists.ItemState) -> str:
    """A valid "all fine" answer for an item."""
    return item.field.fine_answer()


def fill_required(detail: DispatchDetailVirtual, actor: User) -> checklists.Checklist:
    """Answer every required item that is still open, as the user would, one at a time."""
    checklist = checklists.get_checklist(detail.detail_id)
    for item in checklist.items.values():
        if item.field.required and not item.answered:
            checklists.save_answer(checklist, item.field.name, answer_for(item), seen=item.display, actor=actor)
    return checklists.get_checklist(detail.detail_id)
