"""Built-in notification channels: the console and the alert log file.

Both are registered like any plugin's channels and sent by the delivery worker; each takes
the ``DeliveryAttempt`` so the log can name the delivery id a reader de-duplicates on.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

import click
from flask import current_app

from app.plugins import hookimpl
from app.plugins.contracts import DeliveryAttempt, Notification

logger = logging.getLogger(__name__)

_COLOURS = {"info": "cyan", "warning": "yellow", "critical": "red"}
_MARKS = {"info": "ℹ️", "warning": "⚠️", "critical": "🚨"}
RULE = "=" * 60


class ConsoleNotifier:
    """Prints one line per notification to standard error (the worker's console).

    Coloured by severity only when standard error is a terminal, so a redirected log
    holds no escape codes.
    """

    def send(self, notification: Notification, attempt: DeliveryAttempt | None = None) -> None:
        to = ", ".join([*notification.recipients, *notification.roles]) or "operators"
        label = f"[{notification.severity.upper()}]"
        stream = sys.stderr
        if stream.isatty():
            label = click.style(label, fg=_COLOURS.get(notification.severity), bold=notification.severity == "critical")
        print(f"{label} {notification.subject} → {to}", file=stream, flush=True)


def alert_block(notification: Notification, attempt: DeliveryAttempt | None, at: datetime) -> str:
    """The human-readable block ``alerts.log`` holds for one notification (times in the organisation's zone)."""
    from app.services.local_time import format_local, organisation_zone

    severity = notification.severity.upper()
    what = "ALERT" if notification.kind.startswith("alert.") else notification.kind
    heading = f"{_MARKS.get(notification.severity, '')} {severity} {what}".strip()
    if notification.category:
        heading += f" - {notification.category}"
    lines = [RULE, heading, RULE, f"Time: {format_local(at, 'seconds', zone=organisation_zone())}"]
    if notification.category:
        lines.append(f"Category: {notification.category}")
    lines.append(f"Subject: {notification.subject}")
    if notification.body:
        lines.append(f"Message: {notification.body}")
    if "value" in notification.data and notification.data["value"] is not None:
        lines.append(f"Metric Value: {notification.data['value']}")
    if notification.data.get("details"):
        lines.append(f"Details: {json.dumps(notification.data['details'], ensure_ascii=False, default=str)}")
    if notification.dispatch_number:
        lines.append(f"Dispatch: {notification.dispatch_number}")
    if attempt is not None:
        lines.append(f"Delivery: {attempt.delivery_id}")
    lines.append(RULE)
    return "\n".join(lines) + "\n"


class LogFileNotifier:
    """Appends the alert block for each notification to ``alerts.log`` in the instance folder.

    ``MOTORPOOL_ALERT_LOG`` names another file. The older ``MOTORPOOL_NOTIFICATION_LOG``
    (one JSON line per notification) is still written when it is set, for readers of that
    format; it is deprecated (see docs/notifications.md).
    """

    def path(self) -> Path:
        configured = current_app.config.get("MOTORPOOL_ALERT_LOG")
        return Path(configured) if configured else Path(current_app.instance_path) / "alerts.log"

    def json_path(self) -> Path | None:
        configured = current_app.config.get("MOTORPOOL_NOTIFICATION_LOG")
        return Path(configured) if configured else None

    def send(self, notification: Notification, attempt: DeliveryAttempt | None = None) -> None:
        at = datetime.now(UTC)
        _append(self.path(), alert_block(notification, attempt, at))
        json_path = self.json_path()
        if json_path is not None:
            record = {
                "at": at.isoformat(timespec="seconds"),
                "kind": notification.kind,
                "severity": notification.severity,
                "subject": notification.subject,
                "body": notification.body,
                "recipients": list(notification.recipients),
                "dispatch_number": notification.dispatch_number,
                "category": notification.category,
                "delivery_id": attempt.delivery_id if attempt else None,
            }
            _append(json_path, json.dumps(record, ensure_ascii=False) + "\n")

    def probe(self) -> None:
        """Raises when the log file's folder cannot be written."""
        folder = self.path().parent
        folder.mkdir(parents=True, exist_ok=True)
        if not os.access(folder, os.W_OK):
            raise PermissionError(f"cannot write to {folder}; set MOTORPOOL_ALERT_LOG to a writable file")


def _append(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # One write of the whole block: two workers appending at once do not interleave lines.
    with path.open("a", encoding="utf-8") as handle:
        handle.write(text)


@hookimpl(trylast=True)
def motorpool_notifiers():
    return {"console": ConsoleNotifier(), "log_file": LogFileNotifier()}
