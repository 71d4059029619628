"""How a checklist (dispatch detail type) is answered: its fields, groups, rules and parsing.

A detail type describes its form with ``checklist_fields`` (see ``fields.py``); a type
that declares nothing gets a form derived from its columns, so a checklist added by a
plugin works with no template or code of its own.
"""

from app.checklists.fields import (
    ChecklistField,
    FieldKind,
    checklist_fields,
    field_named,
    groups_of,
)

__all__ = ["ChecklistField", "FieldKind", "checklist_fields", "field_named", "groups_of"]
