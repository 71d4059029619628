"""Who a notification is for: the people its roles and addresses name.

A notification names its audience two ways: ``roles`` ("admin", "manager", "technician")
and ``recipients`` (email addresses). Email sends to addresses, the in-app channel writes
one row per user; both ask here so they agree on who is meant.

A notification that names neither is for the *operators*: the active admins. Alerts and
reports that nobody routed anywhere still reach the people who run Motorpool.
"""

from __future__ import annotations

from sqlalchemy import or_, select

from app.extensions import db
from app.models import User
from app.plugins.contracts import Notification
from app.services.text import any_same_text

#: Who gets a notification that names no role and no address.
OPERATOR_ROLES = ("admin",)


def _roles(notification: Notification) -> list[str]:
    if not notification.roles and not notification.recipients:
        return list(OPERATOR_ROLES)
    return [role.strip().lower() for role in notification.roles if role and role.strip()]


def _addresses(notification: Notification) -> list[str]:
    """The recipient addresses, stripped, first spelling kept, de-duplicated whatever the case."""
    seen: dict[str, str] = {}
    for address in notification.recipients:
        text = (address or "").strip()
        if text and text.lower() not in seen:
            seen[text.lower()] = text
    return list(seen.values())


def _matching(notification: Notification) -> tuple[list[User], list[str]]:
    """Active users by role, and every account (active or not) whose address is named: one query."""
    roles = _roles(notification)
    typed = _addresses(notification)
    lowered = [address.lower() for address in typed]
    active = User.is_active_user.is_(True) & User.is_system.is_(False)
    conditions = []
    if roles:
        conditions.append(active & User.role.in_(roles))
    if lowered:
        conditions.append(any_same_text(User.email, lowered))
    if not conditions:
        return [], typed
    return list(db.session.scalars(select(User).where(or_(*conditions)).order_by(User.id))), typed


def users_for(notification: Notification) -> list[User]:
    """Active users with one of the notification's roles or one of its addresses (one query).

    The system user and deactivated accounts are never recipients. Ordered by id, so that
    the same notification always yields the same list.
    """
    users, _typed = _matching(notification)
    return [user for user in users if user.is_active_user and not user.is_system]


def addresses_for(notification: Notification) -> list[str]:
    """The email addresses to send to: the users' and the plain addresses, each once (one query).

    Addresses compare case-insensitively; a user's stored spelling wins over the typed one.
    An address that belongs to a deactivated account is left out: such a person must not
    keep receiving mail because an old routing rule still names them.
    """
    users, typed = _matching(notification)
    result: dict[str, str] = {}
    refused: set[str] = set()
    for user in users:
        if user.is_active_user and not user.is_system:
            result.setdefault(user.email.lower(), user.email)
        else:
            refused.add(user.email.lower())
    for address in typed:
        key = address.lower()
        if key not in result and key not in refused:
            result[key] = address
    return list(result.values())
