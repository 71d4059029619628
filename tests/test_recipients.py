"""Who a notification reaches: roles and addresses become users and email addresses."""

from __future__ import annotations

from sqlalchemy import event

from app.extensions import db
from app.plugins.contracts import Notification
from app.services.actors import system_user
from app.services.recipients import addresses_for, users_for
from tests.factories import AdminFactory, ManagerFactory, TechnicianFactory


def _note(**fields) -> Notification:
    return Notification(kind="alert.firing", subject="Queue", body="Too long", **fields)


def _count_queries():
    counter = {"n": 0}

    def count(*_args):
        counter["n"] += 1

    event.listen(db.engine, "before_cursor_execute", count)
    return counter, lambda: event.remove(db.engine, "before_cursor_execute", count)


def test_roles_and_addresses_name_active_users_once(app):
    manager = ManagerFactory(email="Mia@Example.com")
    ManagerFactory(is_active_user=False)
    tech = TechnicianFactory(email="tom@example.com")
    AdminFactory()
    db.session.expire_all()

    counter, stop = _count_queries()
    try:
        users = users_for(_note(roles=["manager"], recipients=["TOM@example.com", "mia@example.com"]))
    finally:
        stop()
    assert [u.id for u in users] == sorted([manager.id, tech.id])
    assert counter["n"] == 1


def test_addresses_are_deduplicated_case_insensitively_and_keep_plain_ones(app):
    ManagerFactory(email="Mia@Example.com")
    TechnicianFactory(email="gone@example.com", is_active_user=False)
    addresses = addresses_for(_note(
        roles=["manager"],
        recipients=["mia@example.com", "ops@outside.example", "OPS@outside.example", " ", "gone@example.com"],
    ))
    # The stored spelling wins; a deactivated account's address is not mailed.
    assert addresses == ["Mia@Example.com", "ops@outside.example"]


def test_no_roles_and_no_addresses_means_the_active_admins(app):
    admin = AdminFactory()
    AdminFactory(is_active_user=False)
    ManagerFactory()
    system_user()
    db.session.commit()
    assert [u.id for u in users_for(_note())] == [admin.id]
    assert addresses_for(_note()) == [admin.email]


def test_addresses_alone_do_not_widen_to_the_operators(app):
    AdminFactory()
    assert users_for(_note(recipients=["someone@outside.example"])) == []
    assert addresses_for(_note(recipients=["someone@outside.example"])) == ["someone@outside.example"]


def test_the_system_user_is_never_a_recipient(app):
    user = system_user()
    db.session.commit()
    assert users_for(_note(roles=["admin"], recipients=[user.email])) == []
    assert addresses_for(_note(recipients=[user.email])) == []
