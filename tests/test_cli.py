"""The command line: ``flask users create|list``, ``flask seed-demo``, ``flask demo-logins``."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    AllDispatchDetail,
    Asset,
    AssetType,
    AssetTypeDispatchDetailTableSet,
    DailyRollup,
    DailyTrend,
    Dispatch,
    DispatchStatusHistory,
    Event,
    MajorLocation,
    MakeModel,
    ModelAdditionalDispatchDetailTableSet,
    TruckDispatchChecklist,
    User,
    VehicleDispatch,
)
from app.services.actors import SYSTEM_EMAIL
from app.services.demo import DEMO_PASSWORD
from app.services.users import authenticate
from tests.factories import TechnicianFactory, UserFactory

PASSWORD = "a long passphrase"


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def count(model, *where) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def real_users() -> int:
    return count(User, User.is_system.is_(False))


def system_user_id() -> int:
    return db.session.scalar(select(User.id).where(User.email == SYSTEM_EMAIL))


def create_args(email="tess@example.com", name="Tess Technician", role="technician") -> list[str]:
    return ["users", "create", "--role", role, "--email", email, "--name", name]


# --- users create / list ------------------------------------------------------------------------


def test_users_create_prompts_twice_for_a_hidden_password(app, runner):
    result = runner.invoke(args=create_args(), input=f"{PASSWORD}\n{PASSWORD}\n")

    assert result.exit_code == 0, result.output
    assert "Created technician tess@example.com." in result.output
    assert result.output.count("Password") == 1 and "Repeat for confirmation" in result.output
    assert PASSWORD not in result.output  # the prompt does not echo it

    user = db.session.scalar(select(User).where(User.email == "tess@example.com"))
    assert (user.name, user.role, user.is_active) == ("Tess Technician", "technician", True)
    assert user.password_hash.startswith("$argon2id$")
    assert authenticate("tess@example.com", PASSWORD).id == user.id
    assert user.created_by_id == system_user_id()


def test_users_create_normalises_the_email(app, runner):
    result = runner.invoke(args=create_args(email="Tess@Example.COM"), input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert count(User, User.email == "tess@example.com") == 1


def test_users_create_accepts_the_password_as_an_option(app, runner):
    result = runner.invoke(args=[*create_args(role="admin"), "--password", PASSWORD])
    assert result.exit_code == 0, result.output
    assert authenticate("tess@example.com", PASSWORD).role == "admin"


def test_users_create_with_mismatched_passwords_asks_again(app, runner):
    result = runner.invoke(args=create_args(), input=f"{PASSWORD}\nsomething else\n{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert "do not match" in result.output
    assert authenticate("tess@example.com", PASSWORD) is not None


def test_users_create_gives_up_when_the_passwords_never_match(app, runner):
    result = runner.invoke(args=create_args(), input=f"{PASSWORD}\nsomething else\n")
    assert result.exit_code != 0
    assert real_users() == 0


@pytest.mark.parametrize(
    "args, password, message",
    [
        (create_args(), "short", "The password is too short: use at least 10 characters."),
        (create_args(), "password12", "The password is too easy to guess. This is a very common password."),
        (create_args(email="quartermaster@example.com"), "quartermaster-2026!",
         'The password contains the account\'s name or email ("quartermaster")'),
        (create_args(email="not-an-email"), PASSWORD, "'not-an-email' is not an email address"),
        (create_args(name="   "), PASSWORD, "A name is required."),
    ],
    ids=["short password", "common password", "password with the email", "bad email", "blank name"],
)
def test_users_create_refuses_bad_input_and_writes_nothing(app, runner, args, password, message):
    result = runner.invoke(args=args, input=f"{password}\n{password}\n")
    assert result.exit_code == 1
    assert f"Error: {message}" in result.output
    assert "Traceback" not in result.output
    assert real_users() == 0


def test_users_create_refuses_an_unknown_role(app, runner):
    result = runner.invoke(args=create_args(role="superuser"), input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 2
    assert "'superuser' is not one of 'admin', 'manager', 'technician'" in result.output
    assert real_users() == 0


@pytest.mark.parametrize("email", ["tess@example.com", "TESS@example.com"])
def test_users_create_refuses_a_duplicate_email(app, runner, email):
    first = runner.invoke(args=create_args(), input=f"{PASSWORD}\n{PASSWORD}\n")
    assert first.exit_code == 0, first.output

    result = runner.invoke(args=create_args(email=email, name="Someone Else"), input=f"{PASSWORD}\n{PASSWORD}\n")

    assert result.exit_code == 1
    assert "Error: A user with the email tess@example.com already exists." in result.output
    assert real_users() == 1
    assert db.session.scalar(select(User.name).where(User.email == "tess@example.com")) == "Tess Technician"


def test_users_list_shows_people_with_roles_but_not_the_system_user(app, runner):
    UserFactory(email="zoe@example.com", name="Zoe Manager", role="manager")
    UserFactory(email="adam@example.com", name="Adam Admin", role="admin")
    TechnicianFactory(email="ina@example.com", name="Ina Inactive", is_active_user=False)
    runner.invoke(args=create_args(), input=f"{PASSWORD}\n{PASSWORD}\n")  # also creates the system user

    result = runner.invoke(args=["users", "list"])

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == 4
    assert lines[0].split() == ["admin", "adam@example.com", "Adam", "Admin"]
    assert lines[1].split() == ["manager", "zoe@example.com", "Zoe", "Manager"]
    assert lines[2].split() == ["technician", "ina@example.com", "Ina", "Inactive", "(inactive)"]
    assert lines[3].split() == ["technician", "tess@example.com", "Tess", "Technician"]
    assert SYSTEM_EMAIL not in result.output


def test_users_list_on_an_empty_database_prints_nothing(app, runner):
    result = runner.invoke(args=["users", "list"])
    assert result.exit_code == 0
    assert result.output == ""


# --- seed-demo -----------------------------------------------------------------------------------

DEMO_EMAILS = ["admin@motorpool.example", "manager@motorpool.example"] + [
    f"tech{n}@motorpool.example" for n in range(1, 9)
]


def seed(runner, *extra: str):
    result = runner.invoke(args=["seed-demo", *extra])
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result


def fleet_counts() -> dict[str, int]:
    return {
        "locations": count(MajorLocation),
        "asset types": count(AssetType),
        "type sets": count(AssetTypeDispatchDetailTableSet),
        "models": count(MakeModel),
        "model sets": count(ModelAdditionalDispatchDetailTableSet),
        "assets": count(Asset),
        "users": real_users(),
    }


def assert_demo_logins_printed(output: str) -> None:
    assert f"Demo logins (password for all: {DEMO_PASSWORD}):" in output
    for email in DEMO_EMAILS:
        assert email in output


def test_seed_demo_creates_the_fleet_people_and_dispatches(app, runner):
    result = seed(runner, "--dispatches", "50")

    assert "Created the demo fleet and 10 demo users." in result.output
    assert_demo_logins_printed(result.output)
    # The demo's finished days are kept before anyone reads them.
    assert "Day sums: kept 400 trend days and 400 cost days of the 400 finished days" in result.output
    assert count(DailyRollup) == count(DailyTrend) == 400

    # Asset types with their detail sets
    sets = {
        (row.asset_type.name, row.dispatch_detail_table_type)
        for row in db.session.scalars(select(AssetTypeDispatchDetailTableSet))
    }
    assert sets == {("Truck", "truck_checklist"), ("Vehicle", "vehicle_dispatch")}
    assert {t.name for t in db.session.scalars(select(AssetType))} == {"Truck", "Vehicle", "Trailer"}
    # Models, some with additional sets
    extra = {
        (row.make_model.display_name, row.dispatch_detail_table_type)
        for row in db.session.scalars(select(ModelAdditionalDispatchDetailTableSet))
    }
    assert len(extra) == 2
    assert {key for _, key in extra} == {"vehicle_dispatch", "truck_checklist"}
    assert count(MakeModel) == 6
    assert count(Asset) == 40
    assert count(MajorLocation) == 5

    # People
    roles = Counter(db.session.scalars(select(User.role).where(User.is_system.is_(False))))
    assert roles == {"admin": 1, "manager": 1, "technician": 8}
    for email in DEMO_EMAILS:
        assert authenticate(email, DEMO_PASSWORD) is not None, email

    # Dispatches, each with the checklist rows its asset's type and model call for
    assert count(Dispatch) == 50
    checklist_rows = 0
    for dispatch in db.session.scalars(select(Dispatch)):
        asset = dispatch.asset
        expected = {s.dispatch_detail_table_type for s in asset.asset_type.dispatch_detail_table_sets}
        expected |= {s.dispatch_detail_table_type for s in asset.make_model.additional_dispatch_detail_table_sets}
        table_names = sorted(detail.table_name for detail in dispatch.all_details)
        key_to_table = {"truck_checklist": "truck_dispatch_checklists", "vehicle_dispatch": "vehicle_dispatches"}
        assert table_names == sorted(key_to_table[key] for key in expected), dispatch.dispatch_number
        assert len(dispatch.truckdispatchchecklist_details) == ("truck_checklist" in expected)
        assert len(dispatch.vehicledispatch_details) == ("vehicle_dispatch" in expected)
        checklist_rows += len(table_names)
        assert dispatch.status_history[0].status_from is None
        assert [e.event_type for e in dispatch.events][0] == "dispatch.created"
        assert dispatch.dispatch_location_id == asset.major_location_id
    assert checklist_rows == count(AllDispatchDetail) == count(TruckDispatchChecklist) + count(VehicleDispatch)
    assert checklist_rows >= 50
    # the demo has work in several states
    assert len(set(db.session.scalars(select(Dispatch.status)))) >= 3


def test_seed_demo_rows_are_created_by_the_system_user(app, runner):
    seed(runner, "--dispatches", "20")
    system_id = system_user_id()
    assert system_id is not None
    for model in (MajorLocation, AssetType, AssetTypeDispatchDetailTableSet, MakeModel, Asset, Dispatch,
                  AllDispatchDetail, DispatchStatusHistory, Event):
        assert count(model) > 0, model.__name__
        assert count(model, model.created_by_id != system_id) == 0, model.__name__
        assert count(model, model.created_by_id.is_(None)) == 0, model.__name__
    assert count(User, User.is_system.is_(False), User.created_by_id != system_id) == 0
    assert count(DispatchStatusHistory, DispatchStatusHistory.changed_by_id != system_id) == 0
    # Checklists are signed off by the technician who did the work; everything else is the system's.
    assert count(Event, Event.user_id != system_id, Event.event_type != "checklist.signed_off") == 0
    assert count(Event, Event.event_type == "checklist.signed_off", Event.user_id == system_id) == 0


def test_seed_demo_if_empty_on_a_non_empty_database_loads_nothing(app, runner):
    UserFactory(email="someone@example.com")
    before = fleet_counts()

    result = seed(runner, "--if-empty", "--dispatches", "10")

    assert "The database already has data; demo data not loaded." in result.output
    assert fleet_counts() == before
    assert count(Dispatch) == 0


def test_seed_demo_if_empty_on_an_empty_database_loads(app, runner):
    result = seed(runner, "--if-empty", "--dispatches", "5")
    assert "Created the demo fleet" in result.output
    assert count(Dispatch) == 5

    again = seed(runner, "--if-empty", "--dispatches", "5")
    assert "demo data not loaded" in again.output
    assert count(Dispatch) == 5


def test_seed_demo_twice_adds_dispatches_without_duplicating_the_fleet(app, runner):
    seed(runner, "--dispatches", "10")
    fleet = fleet_counts()
    numbers = set(db.session.scalars(select(Dispatch.dispatch_number)))

    result = seed(runner, "--dispatches", "15")

    assert "Created the demo fleet" not in result.output
    assert_demo_logins_printed(result.output)
    assert fleet_counts() == fleet
    assert count(Dispatch) == 25
    all_numbers = list(db.session.scalars(select(Dispatch.dispatch_number)))
    assert len(set(all_numbers)) == 25 and numbers <= set(all_numbers)


def test_seed_demo_with_zero_dispatches_creates_only_the_fleet(app, runner):
    result = seed(runner, "--dispatches", "0")
    assert "Created the demo fleet" in result.output
    assert count(Asset) == 40
    assert count(Dispatch) == 0


def test_seed_demo_refuses_a_negative_count(app, runner):
    result = runner.invoke(args=["seed-demo", "--dispatches", "-1"])
    assert result.exit_code == 2
    assert count(AssetType) == 0


def test_demo_logins_prints_the_usable_demo_accounts(app, runner):
    empty = runner.invoke(args=["demo-logins"])
    assert empty.exit_code == 0
    assert "No demo logins" in empty.output

    seed(runner, "--dispatches", "0")
    result = runner.invoke(args=["demo-logins"])
    assert result.exit_code == 0
    assert_demo_logins_printed(result.output)
    assert SYSTEM_EMAIL not in result.output

    # An account whose password was changed, or that was switched off, is not a demo login any more.
    from app.services.users import hash_password

    tech1 = db.session.scalar(select(User).where(User.email == "tech1@motorpool.example"))
    tech1.password_hash = hash_password("a different passphrase")
    tech2 = db.session.scalar(select(User).where(User.email == "tech2@motorpool.example"))
    tech2.is_active_user = False
    db.session.commit()
    result = runner.invoke(args=["demo-logins"])
    assert "tech1@motorpool.example" not in result.output
    assert "tech2@motorpool.example" not in result.output
    assert "tech3@motorpool.example" in result.output
