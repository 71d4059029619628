"""``flask doctor``: each problem is one line saying how to fix it, and the exit code says whether there was one."""

from __future__ import annotations

import sys
import types

import pytest
from flask_migrate import upgrade
from sqlalchemy import text

from app.extensions import db
from app.plugins import hookimpl
from app.services import scheduler
from tests.plugin_support import Plugins

#: The jobs whose functions other features provide; disabled to see a clean bill of health.
ELSEWHERE = {"alert-check": {"interval": "5"}, "daily-summary": {"at": "08:00"},
             "weekly-summary": {"at": "09:00", "weekday": "0"}}


def add_missing_job(app, name: str, *, target: str = "tests.test_doctor:gone", enabled: bool = True) -> None:
    """A job naming a function that does not exist, like a feature that is not installed."""
    from app.services.actors import acting_as, system_user

    app.config["TEST_MINUTES"] = 60
    scheduler.register_job(scheduler.Job(name, target, "interval", "TEST_MINUTES", "a test job"), app)
    if not enabled:
        with app.app_context():
            user = system_user()
            db.session.commit()
            with acting_as(user):
                scheduler.update_schedule(name, enabled=False, interval="60")
            db.session.remove()


def doctor(app):
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["doctor"])
        db.session.remove()
    return result


def lines(result, mark: str) -> list[str]:
    return [line for line in result.output.splitlines() if line.startswith(mark)]


def disable_elsewhere(app) -> None:
    from app.services.actors import acting_as, system_user

    with app.app_context():
        user = system_user()
        db.session.commit()
        with acting_as(user):
            for name, values in ELSEWHERE.items():
                scheduler.update_schedule(name, enabled=False, **values)
        db.session.remove()


def test_a_healthy_installation_has_no_problems_and_shows_what_runs_next(make_app, backend, alerting):
    app = make_app()
    disable_elsewhere(app)
    add_missing_job(app, "test-gone", enabled=False)
    result = doctor(app)
    assert result.exit_code == 0, result.output
    assert lines(result, "PROBLEM") == []
    output = result.output
    assert f"ok      database: {backend} answered in" in output
    assert "ok      migrations: at head (0019_dispatch_changes, trailers_0001)" in output
    assert "ok      job assign-pending: app.services.matching:assign_pending importable" in output
    assert "ok      job retention: app.services.retention:prune importable" in output
    assert "note    job test-gone: disabled; tests.test_doctor:gone cannot be imported" in output
    assert "ok      alert check: dry run: 8 checks, 1 would fire" in output
    assert any(line.startswith("note    scheduled: assign-pending  every 10 min") and " next " in line
               for line in output.splitlines())
    assert output.rstrip().endswith("No problems found.")


def test_the_real_alert_dry_run_is_one_readable_line(make_app):
    app = make_app()
    [line] = lines(doctor(app), "ok      alert check:")
    assert line.startswith("ok      alert check: dry run: 8 readings (") and "CheckReport(" not in line
    assert line.endswith("nothing raised or resolved"), line


def test_without_the_alerting_feature_the_alert_check_is_reported_as_not_available(make_app, monkeypatch):
    monkeypatch.setitem(sys.modules, "app.services.alerting", None)  # as if it were not installed
    app = make_app()
    result = doctor(app)
    assert "note    alert check: not available: app.services.alerting is not installed" in result.output


def test_an_enabled_job_whose_function_is_missing_is_a_problem_with_its_fix(make_app, alerting):
    app = make_app()
    disable_elsewhere(app)
    add_missing_job(app, "test-gone")
    add_missing_job(app, "test-no-module", target="tests.no_such_module:run")
    result = doctor(app)
    assert result.exit_code == 1
    assert lines(result, "PROBLEM") == [
        "PROBLEM job test-gone: tests.test_doctor:gone cannot be imported: tests.test_doctor has no function 'gone' "
        "— fix: install the feature that provides it, or disable test-gone on /admin/scheduler",
        "PROBLEM job test-no-module: tests.no_such_module:run cannot be imported: No module named "
        "'tests.no_such_module'; the feature that provides it is not installed — fix: install the feature that "
        "provides it, or disable test-no-module on /admin/scheduler",
    ]
    assert result.output.rstrip().endswith("2 problems found.")


@pytest.fixture
def stamped(make_app, database_url):
    """The test database's recorded revision replaced for one test (and put back)."""
    app = make_app()

    def stamp(*revisions: str) -> None:
        with db.engine.begin() as connection:
            connection.execute(text("DELETE FROM alembic_version"))
            for revision in revisions:
                connection.execute(text("INSERT INTO alembic_version (version_num) VALUES (:r)"), {"r": revision})

    with app.app_context():
        with db.engine.connect() as connection:
            before = [row[0] for row in connection.execute(text("SELECT version_num FROM alembic_version"))]
        try:
            yield app, stamp
        finally:
            stamp(*before)
            db.engine.dispose()


def test_a_database_behind_the_code_is_a_problem_that_says_to_upgrade(stamped):
    app, stamp = stamped
    disable_elsewhere(app)
    with app.app_context():
        stamp("0006_time_zones", "trailers_0001")
    result = doctor(app)
    assert result.exit_code == 1
    assert lines(result, "PROBLEM migrations") == [
        "PROBLEM migrations: the database is at 0006_time_zones, trailers_0001; the code's heads are "
        "0019_dispatch_changes, trailers_0001 — fix: run `flask db upgrade`"
    ]


def test_a_database_migrated_by_newer_code_is_a_problem(stamped):
    app, stamp = stamped
    with app.app_context():
        stamp("0099_from_the_future", "trailers_0001")
    result = doctor(app)
    assert result.exit_code == 1
    [line] = lines(result, "PROBLEM migrations")
    assert "the database is at 0099_from_the_future, which this code does not know" in line and "fix:" in line


def test_a_fresh_database_at_an_older_revision_with_a_plugin_branch_missing(make_app, tmp_path):
    url = "sqlite:///" + str(tmp_path / "old.db")
    old = make_app(SQLALCHEMY_DATABASE_URI=url)
    with old.app_context():
        upgrade(revision="0005_case_insensitive_names")
        db.engine.dispose()
    result = doctor(old)
    assert result.exit_code == 1
    assert ("PROBLEM migrations: the database is at 0005_case_insensitive_names; the code's heads are "
            "0019_dispatch_changes, trailers_0001 — fix: run `flask db upgrade`") in result.output
    # The later checks need tables the old database lacks: they say so instead of crashing.
    assert "Traceback" not in result.output


class Channels:
    """A plugin with one channel whose server refuses the login and one that answers."""

    class Refusing:
        def send(self, notification, attempt=None):  # pragma: no cover - doctor never sends
            raise AssertionError("doctor must not send")

        def probe(self):
            raise ConnectionRefusedError("SMTP login refused for alerts@example.com at mail.example.com:587")

    class Answering:
        def __init__(self):
            self.probed = 0

        def send(self, notification, attempt=None):  # pragma: no cover - doctor never sends
            raise AssertionError("doctor must not send")

        def probe(self):
            self.probed += 1

    def __init__(self):
        self.siren = self.Answering()

    @hookimpl
    def motorpool_notifiers(self):
        return {"pager": self.Refusing(), "siren": self.siren}


def test_an_unreachable_channel_is_a_problem_a_reachable_one_is_ok(monkeypatch, make_app, alerting):
    channels = Plugins(monkeypatch).add("channels", Channels())
    app = make_app(MOTORPOOL_NOTIFIERS="console,pager,siren")
    disable_elsewhere(app)
    result = doctor(app)
    assert result.exit_code == 1
    assert lines(result, "PROBLEM") == [
        "PROBLEM channel pager: unreachable: SMTP login refused for alerts@example.com at mail.example.com:587 — fix: "
        "check the pager channel's settings, or remove pager from MOTORPOOL_NOTIFIERS"
    ]
    assert "ok      channel siren: reachable" in result.output
    assert "ok      channel console: active (it has no reachability probe)" in result.output
    assert channels.siren.probed == 1


@pytest.fixture
def alerting(monkeypatch):
    """Stands in for the alerting feature's module: ``run_check(dry_run=True)`` as specified."""
    module = types.ModuleType("app.services.alerting")
    calls = []

    def run_check(now=None, *, dry_run=False):
        calls.append(dry_run)
        if module.fail:
            raise RuntimeError("the thresholds table is missing")
        return "8 checks, 1 would fire"

    module.run_check = run_check
    module.fail = False
    monkeypatch.setitem(sys.modules, "app.services.alerting", module)
    return module, calls


def test_a_failing_alert_dry_run_is_a_problem(make_app, alerting):
    module, calls = alerting
    app = make_app()
    disable_elsewhere(app)
    assert "ok      alert check: dry run: 8 checks, 1 would fire" in doctor(app).output
    assert calls == [True]
    module.fail = True
    failed = doctor(app)
    assert failed.exit_code == 1
    assert ("PROBLEM alert check: the dry run failed: RuntimeError: the thresholds table is missing — fix: run "
            "`flask alerts check --dry-run` to see the whole error") in failed.output


@pytest.mark.parametrize("url, shown, reason", [
    ("sqlite:////nonexistent-motorpool-dir/x.db", "sqlite:////nonexistent-motorpool-dir/x.db", "unable to open"),
    ("postgresql://motorpool:s3cret@127.0.0.1:1/motorpool", "postgresql+psycopg://motorpool:***@127.0.0.1:1/",
     "Connection refused"),
])
def test_an_unreachable_database_is_one_line_saying_what_to_set_not_a_traceback(url, shown, reason):
    # The app reads the plugin table while it starts, before any command runs: doctor and the
    # web server alike stop there, with the reason and the fix, and the password hidden.
    import os
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "DATABASE_URL": url, "FLASK_APP": "wsgi.py"}
    done = subprocess.run([sys.executable, "-m", "flask", "doctor"], cwd=root, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr and "s3cret" not in done.stderr
    assert done.stderr.startswith(f"Motorpool cannot start: cannot connect to the database {shown}"), done.stderr
    assert reason in done.stderr and "set DATABASE_URL to one that answers" in done.stderr


def test_a_channel_without_its_settings_stops_start_up_with_one_line_saying_what_to_set(tmp_path):
    import os
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "FLASK_APP": "wsgi.py", "MOTORPOOL_NOTIFIERS": "console,webhook",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}"}
    for name in ("MOTORPOOL_WEBHOOK_URL", "MOTORPOOL_WEBHOOK_SECRET"):
        env.pop(name, None)
    done = subprocess.run([sys.executable, "-m", "flask", "doctor"], cwd=root, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip() == (
        "Motorpool cannot start: the webhook channel is active (MOTORPOOL_NOTIFIERS) but MOTORPOOL_WEBHOOK_URL, "
        "MOTORPOOL_WEBHOOK_SECRET are not set; set them, or remove webhook from MOTORPOOL_NOTIFIERS")
