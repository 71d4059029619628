"""Built-in notification channels (console, log file) and the "assigned to you" message."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from pathlib import Path

from flask import current_app

from app.plugins import hookimpl
from app.plugins.contracts import Notification

logger = logging.getLogger(__name__)


class ConsoleNotifier:
    """Prints one line per notification to standard error (the server's console)."""

    def send(self, notification: Notification) -> None:
        to = ", ".join(notification.recipients) or "operators"
        print(f"[{notification.severity.upper()}] {notification.subject} → {to}", file=sys.stderr, flush=True)


class LogFileNotifier:
    """Appends one JSON line per notification to ``MOTORPOOL_NOTIFICATION_LOG``.

    The default is ``notifications.log`` in the instance folder. One line per record keeps
    the file both human-readable and machine-readable.
    """

    def path(self) -> Path:
        configured = current_app.config.get("MOTORPOOL_NOTIFICATION_LOG")
        return Path(configured) if configured else Path(current_app.instance_path) / "notifications.log"

    def send(self, notification: Notification) -> None:
        record = {
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "kind": notification.kind,
            "severity": notification.severity,
            "subject": notification.subject,
            "body": notification.body,
            "recipients": list(notification.recipients),
            "dispatch_number": notification.dispatch_number,
        }
        path = self.path()
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")


@hookimpl(trylast=True)
def motorpool_notifiers():
    return {"console": ConsoleNotifier(), "log_file": LogFileNotifier()}


@hookimpl(trylast=True)
def motorpool_dispatch_assigned(dispatch, technician, metric, mode):
    from app.services.notifications import notify

    eta = ""
    if metric is not None and metric.estimated_completion_hours is not None:
        eta = f" Estimated completion in {metric.estimated_completion_hours:.1f} h."
    notify(
        Notification(
            kind="dispatch.assigned",
            subject=f"Dispatch {dispatch.dispatch_number} assigned to you",
            body=f"{dispatch.title} ({dispatch.priority}).{eta}",
            recipients=[technician.email],
            severity="warning" if dispatch.priority in ("High", "Critical") else "info",
            dispatch_number=dispatch.dispatch_number,
        )
    )
