"""Technician profiles, skills and availability through the service and the CLI."""

from datetime import time, timedelta

import pytest
from sqlalchemy import func, select

from app.models import Skill, TechnicianProfile, TechnicianSkill, utcnow
from app.services import technicians
from app.services.errors import NotFound, ValidationError
from tests.factories import ManagerFactory, TechnicianFactory


def _count(session, model):
    return session.scalar(select(func.count()).select_from(model))


def test_profile_is_created_then_updated_field_by_field(app, session, system_actor):
    tech = TechnicianFactory()
    technicians.save_profile(tech, home_latitude=53.8, home_longitude=-1.5, hourly_rate=42.0)
    technicians.save_profile(tech, shift_days="67", shift_start=time(22, 0), shift_end=time(6, 0))
    profile = session.scalar(select(TechnicianProfile).where(TechnicianProfile.user_id == tech.id))
    assert (profile.home_latitude, profile.hourly_rate, profile.shift_days) == (53.8, 42.0, "67")
    assert (profile.shift_start, profile.shift_end) == (time(22, 0), time(6, 0))
    assert profile.created_by_id == system_actor.id


@pytest.mark.parametrize(
    ("values", "words"),
    [
        ({"home_latitude": 91.0}, "outside -90 to 90"),
        ({"current_longitude": -181.0}, "outside -180 to 180"),
        ({"hourly_rate": -1.0}, "cannot be negative"),
        ({"overtime_multiplier": 0.5}, "at least 1"),
        ({"max_concurrent_dispatches": 0}, "at least 1 dispatch"),
        ({"max_hours_per_week": 200.0}, "between 0 and 168"),
        ({"shift_days": "189"}, "ISO weekday digits"),
        ({"shift_days": "11"}, "each once"),
        ({"shift_start": "7am"}, "time like 07:00"),
        ({"favourite_colour": "red"}, "Unknown profile fields"),
    ],
)
def test_bad_profile_values_are_refused_and_nothing_is_written(app, session, system_actor, values, words):
    tech = TechnicianFactory()
    with pytest.raises(ValidationError) as refused:
        technicians.save_profile(tech, **values)
    assert words in refused.value.message
    session.rollback()
    assert _count(session, TechnicianProfile) == 0


def test_a_manager_cannot_get_a_technician_profile(app, session, system_actor):
    with pytest.raises(ValidationError, match="not a technician"):
        technicians.save_profile(ManagerFactory(), hourly_rate=30.0)


def test_capacity_cannot_drop_below_the_active_dispatches(app, session, system_actor):
    tech = TechnicianFactory()
    profile = technicians.save_profile(tech, max_concurrent_dispatches=3)
    profile.active_dispatch_count = 2
    session.commit()
    with pytest.raises(ValidationError, match="has 2 active dispatches"):
        technicians.save_profile(tech, max_concurrent_dispatches=1)
    session.rollback()
    assert session.get(TechnicianProfile, profile.id).max_concurrent_dispatches == 3


def test_skills_are_added_and_levels_set_and_changed(app, session, system_actor):
    tech = TechnicianFactory()
    technicians.save_profile(tech)
    technicians.add_skill("Brakes", "Mechanical")
    technicians.set_skill(tech, "Brakes", 3)
    technicians.set_skill(tech, "Brakes", 5)
    assert [(s.skill.name, s.level) for s in session.scalars(select(TechnicianSkill))] == [("Brakes", 5)]


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda tech: technicians.set_skill(tech, "Brakes", 6), "1 to 5"),
        (lambda tech: technicians.set_skill(tech, "Welding", 3), "no skill 'Welding'"),
        (lambda tech: technicians.add_skill("Brakes", "Mechanical"), "already exists"),
        (lambda tech: technicians.add_skill("Hydraulics", " "), "needs a name and a category"),
    ],
)
def test_bad_skill_input_is_refused(app, session, system_actor, call, words):
    tech = TechnicianFactory()
    technicians.save_profile(tech)
    technicians.add_skill("Brakes", "Mechanical")
    before = (_count(session, Skill), _count(session, TechnicianSkill))
    with pytest.raises(ValidationError) as refused:
        call(tech)
    assert words in refused.value.message
    session.rollback()
    assert (_count(session, Skill), _count(session, TechnicianSkill)) == before


def test_unknown_technician_email_is_refused(app, session):
    with pytest.raises(NotFound, match="no technician"):
        technicians.technician_by_email("nobody@example.com")


def test_cli_sets_profile_skill_and_availability(app, session):
    tech = TechnicianFactory(email="amara@example.com")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["technicians", "profile", "amara@example.com", "--home", "53.8,-1.55",
                                 "--rate", "45", "--days", "12345", "--start", "07:00", "--end", "17:00",
                                 "--max-dispatches", "4"])
    assert result.exit_code == 0, result.output
    assert runner.invoke(args=["technicians", "add-skill", "Tyres", "--category", "Mechanical"]).exit_code == 0
    result = runner.invoke(args=["technicians", "skill", "amara@example.com", "Tyres", "4"])
    assert result.exit_code == 0, result.output
    until = (utcnow() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    result = runner.invoke(args=["technicians", "unavailable", "amara@example.com", "--reason", "Training",
                                 "--until", until])
    assert result.exit_code == 0, result.output
    session.expire_all()
    profile = session.scalar(select(TechnicianProfile).where(TechnicianProfile.user_id == tech.id))
    assert (profile.hourly_rate, profile.max_concurrent_dispatches, profile.shift_start) == (45.0, 4, time(7, 0))
    assert (profile.availability, profile.unavailable_reason) == ("Unavailable", "Training")
    assert runner.invoke(args=["technicians", "available", "amara@example.com"]).exit_code == 0
    session.expire_all()
    assert session.get(TechnicianProfile, profile.id).availability == "Available"


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["technicians", "profile", "amara@example.com", "--home", "north"], "latitude,longitude"),
        (["technicians", "profile", "amara@example.com", "--start", "seven"], "time like 07:00"),
        (["technicians", "profile", "amara@example.com", "--rate", "-5"], "cannot be negative"),
        (["technicians", "skill", "nobody@example.com", "Tyres", "3"], "no technician"),
        (["technicians", "unavailable", "amara@example.com", "--reason", "Sick", "--until", "2020-01-01T00:00"],
         "must be in the future"),
    ],
)
def test_cli_refuses_bad_input_with_a_message_and_writes_nothing(app, session, args, words):
    TechnicianFactory(email="amara@example.com")
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code != 0
    assert words in result.output
    session.expire_all()
    assert _count(session, TechnicianProfile) == 0


@pytest.mark.parametrize("field, value", [("hourly_rate", float("nan")), ("hourly_rate", float("inf")),
                                          ("overtime_multiplier", float("nan")),
                                          ("max_concurrent_dispatches", 10**20)])
def test_a_profile_number_that_is_not_a_real_amount_is_refused(app, system_actor, field, value):
    from app.services import technicians as technician_service
    from app.services.actors import acting_as
    from app.services.errors import ValidationError as Refused
    from tests.factories import TechnicianFactory

    technician = TechnicianFactory()
    with acting_as(system_actor), pytest.raises(Refused) as refused:
        technician_service.save_profile(technician, **{field: value})
    assert refused.value.field == field
