"""Test fixtures: every database test runs on SQLite and again on a real PostgreSQL server.

The PostgreSQL server is started once for the run (``tests/support/pg_server.py``) as an
unprivileged user on loopback and removed afterwards. Each backend's schema is built once
by the real migrations (``flask db upgrade``); each test starts from empty tables.

``MOTORPOOL_TEST_BACKENDS=sqlite`` runs the SQLite half only, for a quick local loop; it
is refused when ``CI=true``, where both backends must pass.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from app import create_app
from app.extensions import db
from app.models import Base
from tests.support.pg_server import TemporaryPostgres

ALL_BACKENDS = ("sqlite", "postgresql")


def _selected_backends() -> tuple[str, ...]:
    wanted = os.environ.get("MOTORPOOL_TEST_BACKENDS", ",".join(ALL_BACKENDS))
    backends = tuple(b.strip() for b in wanted.split(",") if b.strip())
    unknown = set(backends) - set(ALL_BACKENDS)
    if unknown:
        raise pytest.UsageError(f"MOTORPOOL_TEST_BACKENDS names unknown backends {sorted(unknown)}")
    if os.environ.get("CI", "").lower() == "true" and set(backends) != set(ALL_BACKENDS):
        raise pytest.UsageError("CI runs every test on SQLite and PostgreSQL; unset MOTORPOOL_TEST_BACKENDS")
    return backends


def pytest_report_header(config: pytest.Config) -> str:
    return f"motorpool database backends: {', '.join(_selected_backends())}"


def base_config(database_url: str) -> dict:
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        # No pooled connections: a test app dropped without disposing its engine then
        # leaves no open connection behind to be garbage-collected in a later test.
        "SQLALCHEMY_ENGINE_OPTIONS": {"poolclass": NullPool},
        "SECRET_KEY": "test-secret-key",
        "WTF_CSRF_ENABLED": False,
        "MOTORPOOL_STRICT_PLUGINS": True,
        # Keep the log-file channel out of the source tree's instance folder.
        "MOTORPOOL_NOTIFICATION_LOG": os.path.join(tempfile.gettempdir(), "motorpool-test-notifications.log"),
        "MOTORPOOL_ALERT_LOG": os.path.join(tempfile.gettempdir(), "motorpool-test-alerts.log"),
        # Matching has its own tests; elsewhere a new dispatch stays Created.
        "MOTORPOOL_AUTO_ASSIGN": False,
        # Cheap hashes keep the suite fast; production defaults are tested separately.
        "PASSWORD_TIME_COST": 1,
        "PASSWORD_MEMORY_COST": 1024,
        "PASSWORD_PARALLELISM": 1,
    }


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[TemporaryPostgres]:
    server = TemporaryPostgres()
    server.start()  # raises PostgresUnavailable with the reason: a failure, never a skip
    yield server
    server.stop()


def _migrate(url: str) -> None:
    app = create_app(base_config(url))
    with app.app_context():
        upgrade(revision="heads")
        db.engine.dispose()


@pytest.fixture(scope="session", params=_selected_backends())
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated, empty database on each backend."""
    if request.param == "sqlite":
        url = "sqlite:///" + str(tmp_path_factory.mktemp("sqlite") / "motorpool-test.db")
    else:
        url = request.getfixturevalue("postgres_server").url
    _migrate(url)
    return url


@pytest.fixture
def backend(database_url: str) -> str:
    return "postgresql" if database_url.startswith("postgresql") else "sqlite"


def empty_all_tables(url: str) -> None:
    tables = [table.name for table in reversed(Base.metadata.sorted_tables)]
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            if engine.dialect.name == "postgresql":
                connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
            else:
                connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
                for table in tables:
                    connection.execute(text(f"DELETE FROM {table}"))
    finally:
        engine.dispose()


@pytest.fixture
def make_app(database_url: str) -> Iterator:
    """Build apps on the test database; tables are emptied after the test."""
    apps: list[Flask] = []

    def factory(**overrides) -> Flask:
        app = create_app({**base_config(database_url), **overrides})
        apps.append(app)
        return app

    yield factory
    for app in apps:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    empty_all_tables(database_url)


@pytest.fixture
def app(make_app) -> Iterator[Flask]:
    app = make_app()
    with app.app_context():
        yield app
        db.session.rollback()


@pytest.fixture
def session(app: Flask):
    return db.session


@pytest.fixture
def system_actor(app: Flask):
    """Run the test body as the system user, like CLI work."""
    from app.services.actors import acting_as, system_user

    user = system_user()
    db.session.commit()
    with acting_as(user):
        yield user


class AuthActions:
    def __init__(self, client) -> None:
        self._client = client

    def login(self, user, password: str = "correct horse battery"):
        return self._client.post("/auth/login", data={"email": user.email, "password": password})

    def logout(self):
        return self._client.post("/auth/logout")


@pytest.fixture
def auth(client) -> AuthActions:
    return AuthActions(client)


@pytest.fixture
def artifacts_dir() -> Path:
    path = Path(os.environ.get("MOTORPOOL_TEST_ARTIFACTS", "test-artifacts"))
    path.mkdir(parents=True, exist_ok=True)
    return path
