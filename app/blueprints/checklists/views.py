"""Checklist pages: answer items as they are given, report defects, sign off."""

from app.blueprints.checklists import bp  # noqa: F401
