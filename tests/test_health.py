"""``GET /healthz`` (liveness, anyone), ``/admin/health`` (details, admins) and the checks they
share with ``flask doctor`` (``app.services.health`` on top of ``app.services.doctor``)."""

from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import timedelta

import pytest
from sqlalchemy import text

from app.extensions import db
from app.models import DeliveryStatus, utcnow
from app.services import doctor, health
from tests.plugin_support import Plugins
from tests.factories import AdminFactory, ManagerFactory, NotificationDeliveryFactory, TechnicianFactory


class ClosingProxy:
    """A loopback TCP forwarder to the test database that can be shut: after ``close()`` its
    port refuses connections, as a database server that went down does."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.open: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self.open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        # shutdown() first: on Linux close() alone leaves a socket blocked in accept() listening.
        try:
            self.listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.listener.close()
        for sock in self.open:
            try:
                sock.close()
            except OSError:
                pass


@pytest.fixture
def broken_app(make_app, database_url, backend, tmp_path):
    """An app that started on a working database which then stopped answering."""
    if backend == "postgresql":
        from sqlalchemy.engine import make_url

        url = make_url(database_url)
        proxy = ClosingProxy(url.host, url.port)
        app = make_app(SQLALCHEMY_DATABASE_URI=url.set(host="127.0.0.1", port=proxy.port).render_as_string(
            hide_password=False))
        proxy.close()
    else:
        path = tmp_path / "gone.db"
        app = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{path}")
        path.write_bytes(b"this is not a database file" * 100)  # SQLite: "file is not a database"
        for suffix in ("-wal", "-shm"):
            if os.path.exists(f"{path}{suffix}"):
                os.remove(f"{path}{suffix}")
    return app


def test_healthz_answers_ok_with_the_database_latency(app, client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] is True
    assert 0 <= body["database"]["latency_ms"] < 5000
    assert response.headers["Cache-Control"] == "no-store"
    assert response.mimetype == "application/json"


def test_healthz_says_503_with_a_clear_message_when_the_database_is_down(broken_app, caplog):
    client = broken_app.test_client()
    with caplog.at_level(logging.WARNING, logger="app.services.health"):
        response = client.get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "error"
    assert body["database"] == {"ok": False, "latency_ms": None}
    assert "database does not answer" in body["message"]
    assert response.headers["Cache-Control"] == "no-store"
    # The public answer names no host or driver error; the log does, for the operators.
    assert "127.0.0.1" not in response.get_data(as_text=True)
    assert any("does not answer" in r.getMessage() for r in caplog.records)


def test_healthz_is_one_select_even_for_a_signed_in_browser(app, client, auth):
    """A monitor's cookie (or an admin's browser) must not cost a session lookup and write."""
    from sqlalchemy import event

    auth.login(AdminFactory())
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        assert client.get("/healthz").status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert seen == ["SELECT 1"]


def test_liveness_reports_the_database_down_rather_than_raising(broken_app):
    with broken_app.app_context():
        state = health.liveness()
        assert not state.ok and state.database.latency_ms is None and state.database.error
        report = health.details()  # the admin page's view: the database, and nothing read after it
        assert report.problems[0].startswith("The database does not answer")
        assert report.migrations is None and report.jobs == []


def test_healthz_is_exempt_from_rate_limits(make_app):
    limited = make_app(RATELIMIT_APPLICATION="2 per minute")
    client = limited.test_client()
    assert [client.get("/healthz").status_code for _ in range(5)] == [200] * 5
    assert [client.get("/auth/login").status_code for _ in range(3)][-1] == 429  # the limit is real


def test_healthz_successes_stay_out_of_the_request_log(app):
    def line(status: int) -> logging.LogRecord:
        return logging.LogRecord("werkzeug", logging.INFO, __file__, 1,
                                 '127.0.0.1 - - [02/Dec/2026 07:00:00] "GET /healthz HTTP/1.1" %s -', (status,), None)

    quiet = health._QUIET
    assert quiet in logging.getLogger("werkzeug").filters
    assert quiet.filter(line(200)) is False
    assert quiet.filter(line(503)) is True


def test_details_show_migrations_jobs_backlog_dead_letters_and_plugin_errors(app, system_actor):
    from app.services import scheduler

    for status, count in ((DeliveryStatus.PENDING, 2), (DeliveryStatus.DEAD, 1), (DeliveryStatus.DELIVERED, 4)):
        for _ in range(count):
            NotificationDeliveryFactory(status=status.value, next_attempt_at=utcnow() - timedelta(minutes=5))
    db.session.commit()
    scheduler.run_now("retention")
    report = health.details()
    assert report.database.ok and report.database.latency_ms is not None
    assert report.migrations.at_head
    assert (report.deliveries.waiting, report.deliveries.dead) == (2, 1)
    retention = next(job for job in report.jobs if job.name == "retention")
    assert retention.last_outcome == "succeeded" and retention.last_started is not None
    assert report.plugin_errors == []
    assert "1 notification deliveries were given up on." in report.problems
    # flask doctor reports the same facts through the same functions.
    assert doctor.delivery_backlog() == report.deliveries


def test_a_plugin_that_failed_to_load_is_shown_with_its_error(make_app, monkeypatch):
    plugins = Plugins(monkeypatch)
    plugins.add_entry_point("broken", "motorpool_no_such_module:plugin")
    app = make_app(MOTORPOOL_STRICT_PLUGINS=False)
    with app.app_context():
        report = health.details()
        [(name, error)] = report.plugin_errors
        assert name == "broken" and "motorpool_no_such_module" in error
        assert any(line.startswith("Plugin broken:") for line in report.problems)
        email = AdminFactory().email
    client = app.test_client()
    client.post("/auth/login", data={"email": email, "password": "correct horse battery"})
    page = client.get("/admin/health").get_data(as_text=True)
    assert "<strong>broken</strong>" in page


@pytest.mark.parametrize(("role", "status"), [("technician", 403), ("manager", 403), ("admin", 200)])
def test_the_health_page_is_for_admins_and_linked_from_the_admin_index(app, client, auth, role, status):
    user = {"technician": TechnicianFactory, "manager": ManagerFactory, "admin": AdminFactory}[role]()
    auth.login(user)
    response = client.get("/admin/health")
    assert response.status_code == status
    if role == "admin":
        page = response.get_data(as_text=True)
        assert "<h1>Health</h1>" in page and "Latency" in page and "Scheduled jobs" in page
        assert 'href="/admin/health"' in client.get("/admin/").get_data(as_text=True)


def test_the_health_page_names_a_database_behind_its_migrations(make_app):
    app = make_app()
    with app.app_context():
        with db.engine.begin() as connection:
            before = [row[0] for row in connection.execute(text("SELECT version_num FROM alembic_version"))]
            connection.execute(text("DELETE FROM alembic_version"))
            connection.execute(text("INSERT INTO alembic_version (version_num) VALUES ('0011_dispatch_metrics_created_at')"))
        try:
            admin = AdminFactory()
            client = app.test_client()
            client.post("/auth/login", data={"email": admin.email, "password": "correct horse battery"})
            page = client.get("/admin/health").get_data(as_text=True)
        finally:
            with db.engine.begin() as connection:
                connection.execute(text("DELETE FROM alembic_version"))
                for revision in before:
                    connection.execute(text("INSERT INTO alembic_version (version_num) VALUES (:r)"), {"r": revision})
            db.session.remove()
    assert "Needs attention" in page and "flask db upgrade" in page
    assert "<strong>behind</strong>: at 0011_dispatch_metrics_created_at" in page
