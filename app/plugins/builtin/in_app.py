"""The in-app channel: each recipient's list behind the bell in the navigation.

Recipients come from ``app.services.recipients.users_for``: technicians get the
assignments that name them, managers the alerts routed to their role. Each ``send``
writes its rows in one transaction; a retried delivery writes nothing new.
"""

from __future__ import annotations

import logging

from app.plugins import hookimpl
from app.plugins.contracts import DeliveryAttempt, Notification

logger = logging.getLogger(__name__)


class InAppNotifier:
    def send(self, notification: Notification, attempt: DeliveryAttempt) -> None:
        from app.services import recipients, user_notifications

        users = recipients.users_for(notification)
        if not users:
            # Nobody with an account is named (an outside address only): nothing to show in-app.
            logger.info("in-app %s: no active user among the recipients of %s", attempt.delivery_id, notification.kind)
            return
        user_notifications.record(notification, attempt, users)

    def probe(self) -> None:
        """The channel needs only the database, which ``flask doctor`` checks on its own."""


@hookimpl(trylast=True)
def motorpool_notifiers():
    return {"in_app": InAppNotifier()}
