"""Lifecycle hooks fire after the transaction that made the change has committed.

Services queue a hook call while they work; ``transaction()`` fires the queue after the
outermost commit and drops it on rollback. So a plugin reacting to "dispatch assigned"
never sees a change that was rolled back, and can never roll one back itself.
"""

from __future__ import annotations

from typing import Any

from app.extensions import db

_QUEUE_KEY = "motorpool_pending_lifecycle"


def queue(hook_name: str, **kwargs: Any) -> None:
    db.session.info.setdefault(_QUEUE_KEY, []).append((hook_name, kwargs))


def discard() -> None:
    db.session.info.pop(_QUEUE_KEY, None)


def fire_pending() -> None:
    from app.plugins.manager import plugin_system

    system = plugin_system()
    # A hook may itself run services that queue more calls: drain until empty.
    while pending := db.session.info.pop(_QUEUE_KEY, None):
        for hook_name, kwargs in pending:
            system.notify(hook_name, **kwargs)
