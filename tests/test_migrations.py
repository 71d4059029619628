"""The migrations build exactly the schema the models describe, and run both ways."""

from __future__ import annotations

import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import current_app
from flask_migrate import downgrade, upgrade
from sqlalchemy import Column, Integer, MetaData, String, inspect, select, text

from app import create_app
from app.extensions import db
from app.models import Base
from tests.conftest import base_config



def model_tables() -> set[str]:
    """Every table of the metadata, including those of models that plugins registered."""
    return set(db.metadata.tables)


def schema_diff(connection, metadata: MetaData) -> list:
    """What autogenerate would write to make the database match ``metadata``."""
    configure_args = dict(current_app.extensions["migrate"].configure_args)
    assert configure_args.get("compare_type") is True
    assert configure_args.get("render_as_batch") is True
    context = MigrationContext.configure(
        connection,
        opts={
            "compare_type": True,
            "compare_server_default": False,
            "render_as_batch": configure_args["render_as_batch"],
            "target_metadata": metadata,
        },
    )
    return compare_metadata(context, metadata)


def copy_of_metadata() -> MetaData:
    copy = MetaData(naming_convention=dict(db.metadata.naming_convention))
    for table in db.metadata.sorted_tables:
        table.to_metadata(copy)
    return copy


def test_migrated_schema_matches_the_models(app):
    with db.engine.connect() as connection:
        diff = schema_diff(connection, db.metadata)
        tables = set(inspect(connection).get_table_names())
    assert diff == []
    assert tables == model_tables() | {"alembic_version"}


def test_the_check_notices_a_column_missing_from_the_migrations(app):
    metadata = copy_of_metadata()
    metadata.tables["dispatches"].append_column(Column("throwaway_column", Integer, nullable=True))

    with db.engine.connect() as connection:
        diff = schema_diff(connection, metadata)

    assert len(diff) == 1
    operation, schema, table_name, column = diff[0]
    assert (operation, table_name, column.name) == ("add_column", "dispatches", "throwaway_column")
    # The real metadata was not touched.
    assert "throwaway_column" not in Base.metadata.tables["dispatches"].c
    with db.engine.connect() as connection:
        assert schema_diff(connection, db.metadata) == []


def test_the_check_notices_a_changed_column_type(app):
    metadata = copy_of_metadata()
    metadata.tables["dispatches"].c.title.type = String(999)

    with db.engine.connect() as connection:
        diff = schema_diff(connection, metadata)

    flat = [change for entry in diff for change in (entry if isinstance(entry, list) else [entry])]
    assert [(c[0], c[2], c[3]) for c in flat] == [("modify_type", "dispatches", "title")]
    assert Base.metadata.tables["dispatches"].c.title.type.length == 200


def test_the_check_notices_a_table_without_a_migration(app):
    metadata = copy_of_metadata()
    from sqlalchemy import Table

    Table("throwaway_table", metadata, Column("id", Integer, primary_key=True))
    with db.engine.connect() as connection:
        diff = schema_diff(connection, metadata)
    assert [(entry[0], entry[1].name) for entry in diff] == [("add_table", "throwaway_table")]
    assert "throwaway_table" not in Base.metadata.tables


@pytest.fixture
def fresh_database_url(backend, request, tmp_path) -> str:
    """An empty database of its own (not the suite's shared one) on the backend under test."""
    if backend == "sqlite":
        return "sqlite:///" + str(tmp_path / "fresh.db")
    server = request.getfixturevalue("postgres_server")
    return server.create_database(f"motorpool_fresh_{uuid.uuid4().hex[:12]}")


def table_names() -> set[str]:
    with db.engine.connect() as connection:
        return set(inspect(connection).get_table_names())


def current_revisions() -> set[str]:
    with db.engine.connect() as connection:
        if "alembic_version" not in inspect(connection).get_table_names():
            return set()
        return set(connection.scalars(text("SELECT version_num FROM alembic_version")))


def test_fresh_database_upgrades_downgrades_to_base_and_upgrades_again(fresh_database_url):
    app = create_app(base_config(fresh_database_url))
    try:
        with app.app_context():
            assert table_names() == set()

            upgrade(revision="heads")  # the application's migrations and any plugin branches
            assert table_names() == model_tables() | {"alembic_version"}
            heads = current_revisions()
            assert heads
            with db.engine.connect() as connection:
                assert schema_diff(connection, db.metadata) == []

            downgrade(revision="base")
            assert table_names() <= {"alembic_version"}
            assert current_revisions() == set()

            upgrade(revision="heads")
            assert table_names() == model_tables() | {"alembic_version"}
            assert current_revisions() == heads
            with db.engine.connect() as connection:
                assert schema_diff(connection, db.metadata) == []

            # The schema works: the application can write and read through it.
            from app.services.actors import system_user

            user = system_user()
            db.session.commit()
            assert db.session.scalar(select(type(user).id)) == user.id
            db.session.remove()
    finally:
        with app.app_context():
            db.engine.dispose()
