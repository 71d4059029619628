"""Every hook of ``app.plugins.hookspecs`` works end to end, through the real loader.

Plugins come from three places here:

- the example package ``motorpool-trailers`` (installed in the virtualenv, a real
  third-party plugin with its own entry point, table and Alembic branch);
- small plugins written in the test (objects with ``@hookimpl`` methods), made
  discoverable as *installed* entry points: the loader's view of
  ``importlib.metadata`` is replaced by one that also lists them, so they go through
  ``app.plugins.manager._sources`` and ``load_plugins`` exactly like a pip-installed
  package;
- the built-in plugins.

``tests/test_plugin_docs.py`` checks that each hook has at least one test here whose name
contains the hook's full name.
"""

from __future__ import annotations

import json
import logging
import sys
import textwrap
import threading
import types
import uuid
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, func, inspect, select, text

from app import create_app
from app.config import normalise_database_url
from app.extensions import db
from app.models import (
    AllDispatchDetail,
    Asset,
    AssetTypeDispatchDetailTableSet,
    Dispatch,
    DispatchMetric,
    NotificationDelivery,
    PluginSetting,
    TruckDispatchChecklist,
    User,
)
from app.models.dispatching.build import DetailTypeError, detail_types
from app.plugins.manager import plugin_system
from app.models.dispatching.dispatch_detail_virtual import DispatchDetailVirtual
from app.plugins import hookimpl, hookspecs
from app.plugins import manager as plugin_manager
from app.plugins.builtin.haversine import HaversineProvider
from app.plugins.contracts import AlertCheck, MatchOutcome, MetricReading, NavLink, Notification, RankedCandidate, Setting
from app.plugins.settings import PluginSettingError, plugin_setting
from app.services import dispatches as dispatch_service
from app.services import matching
from app.services.actors import acting_as, system_user
from app.services.checklists import sign_off
from app.services.detail_sets import add_type_to_asset_type
from app.services.errors import ValidationError
from app.services.matching import DISTANCE_KEY, MATCHERS_KEY
from app.services.delivery_worker import deliver_due
from app.services.notifications import EXTENSION_KEY as NOTIFIERS_KEY
from app.services.transaction import transaction
from tests.checklist_support import fill_required
from tests.plugin_support import Plugins
from tests import matching_support as ms
from tests.conftest import AuthActions, base_config
from tests.factories import AssetFactory, ManagerFactory, TechnicianFactory, configured_truck_type

TRAILERS = "trailers"
TRAILER_TYPE = "trailer_inspection"
HOOKS = sorted(name for name in vars(hookspecs) if name.startswith("motorpool_"))


# --- Making plugins discoverable ---------------------------------------------------------------


@pytest.fixture
def plugins(monkeypatch) -> Plugins:
    return Plugins(monkeypatch)


# --- Apps, actors, data ------------------------------------------------------------------------


@pytest.fixture
def notification_log(tmp_path) -> Path:
    return tmp_path / "notifications.log"


@pytest.fixture
def build(make_app, notification_log):
    """``make_app`` with notifications going to a log file of the test's own."""

    def factory(**overrides):
        config = {"MOTORPOOL_NOTIFIERS": "log_file", "MOTORPOOL_NOTIFICATION_LOG": str(notification_log)}
        return make_app(**{**config, **overrides})

    return factory


@contextmanager
def inside(app, actor=None):
    """An app context, working as ``actor`` (the system user by default), like the CLI does."""
    with app.app_context():
        try:
            user = actor() if callable(actor) else system_user()
            db.session.commit()
            with acting_as(user):
                yield user
        finally:
            db.session.remove()


def truck_asset():
    """An asset whose type gets the built-in truck checklist."""
    return AssetFactory(asset_type=configured_truck_type(f"Truck {uuid.uuid4().hex[:6]}"))


def new_dispatch(asset=None, **fields) -> Dispatch:
    asset = asset or truck_asset()
    return dispatch_service.create_dispatch(title=fields.pop("title", "Brake check"), asset_id=asset.id, **fields)


def dispose_half_built_app(excinfo: pytest.ExceptionInfo) -> None:
    """``create_app`` raised: close the engine of the app it had started building.

    The app never reached ``make_app``'s clean-up, and its pooled connection would otherwise
    be closed by the garbage collector, in some later test, with a ResourceWarning.
    """
    tb = excinfo.tb
    while tb is not None:
        if tb.tb_frame.f_code is create_app.__code__:
            half_built = tb.tb_frame.f_locals["app"]
            with half_built.app_context():
                db.engine.dispose()
            return
        tb = tb.tb_next
    raise AssertionError("the error did not come from create_app")


def read_log(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def cli(app, *args: str):
    return app.test_cli_runner().invoke(args=list(args))


# --- Small in-test plugins ---------------------------------------------------------------------


class LifecycleRecorder:
    """Records every lifecycle hook call, and what another connection saw at that moment.

    The other connection only sees committed data, so ``seen`` proves the hook fired after
    the commit.
    """

    def __init__(self, database_url: str) -> None:
        self.calls: list[dict] = []
        self._engine = create_engine(normalise_database_url(database_url))

    def seen(self, dispatch_id: int):
        with self._engine.connect() as connection:
            return connection.execute(
                text("SELECT status, assigned_user_id FROM dispatches WHERE id = :id"), {"id": dispatch_id}
            ).first()

    def close(self) -> None:
        self._engine.dispose()

    def of(self, hook: str) -> list[dict]:
        return [call for call in self.calls if call["hook"] == hook]

    @hookimpl
    def motorpool_dispatch_created(self, dispatch):
        self.calls.append({"hook": "created", "number": dispatch.dispatch_number, "seen": self.seen(dispatch.id),
                           "details": sorted(d.table_name for d in dispatch.all_details)})

    @hookimpl
    def motorpool_dispatch_status_changed(self, dispatch, status_from, status_to, reason, actor):
        self.calls.append({"hook": "status_changed", "number": dispatch.dispatch_number, "from": status_from,
                           "to": status_to, "reason": reason, "actor": actor.id if actor else None,
                           "seen": self.seen(dispatch.id)})

    @hookimpl
    def motorpool_dispatch_assigned(self, dispatch, technician, metric, mode):
        self.calls.append({"hook": "assigned", "number": dispatch.dispatch_number, "technician": technician.id,
                           "metric": metric.id if metric is not None else None, "mode": mode,
                           "seen": self.seen(dispatch.id)})

    @hookimpl
    def motorpool_dispatch_detail_completed(self, dispatch, detail, actor):
        with self._engine.connect() as connection:
            signed = connection.execute(
                text(f"SELECT {detail.signed_off_by_column} FROM {detail.__tablename__} WHERE id = :id"),
                {"id": detail.id},
            ).scalar()
        self.calls.append({"hook": "detail_completed", "number": dispatch.dispatch_number, "detail": detail.id,
                           "table": detail.__tablename__, "actor": actor.id, "seen_signed_by": signed})


@pytest.fixture
def recorder(plugins, database_url):
    plugin = LifecycleRecorder(database_url)
    plugins.add("recorder", plugin)
    yield plugin
    plugin.close()


class FixedMatcher:
    """Ranks technicians by a fixed preference list (ids), eligible or not."""

    def __init__(self, order=None, error: Exception | None = None) -> None:
        self.order = order or []
        self.error = error
        self.calls = 0

    def rank(self, pool, request, distances_km, settings, limit=20):
        self.calls += 1
        if self.error is not None:
            raise self.error
        ids = [int(i) for i in pool.technician_ids]
        return MatchOutcome(ranked=[RankedCandidate(t, 1.0 - 0.1 * n) for n, t in enumerate(self.order) if t in ids])


class MatcherPlugin:
    def __init__(self, matchers: dict) -> None:
        self.matchers = matchers

    @hookimpl
    def motorpool_matchers(self):
        return self.matchers


class FailingNotifier:
    def send(self, notification: Notification) -> None:
        raise ConnectionError("pager gateway is down")


class NotifierPlugin:
    def __init__(self, notifiers: dict) -> None:
        self.notifiers = notifiers

    @hookimpl
    def motorpool_notifiers(self):
        return self.notifiers


# --- motorpool_settings ------------------------------------------------------------------------

LIMIT, VERBOSE = "MOTORPOOL_PLUGIN_TUNER_LIMIT", "MOTORPOOL_PLUGIN_TUNER_VERBOSE"


class Tuner:
    """A plugin with settings; ``seen`` is what its matchers hook read, proving settings come first."""

    def __init__(self, settings=None) -> None:
        self.settings = settings if settings is not None else [
            Setting(LIMIT, 3, int, "How many technicians to propose."),
            Setting(VERBOSE, False, bool, "Log every ranking."),
        ]
        self.seen = None

    @hookimpl
    def motorpool_settings(self):
        return self.settings

    @hookimpl
    def motorpool_matchers(self):
        from flask import current_app

        self.seen = current_app.config.get(LIMIT)
        return {}


@pytest.fixture
def instance_dir(tmp_path, monkeypatch) -> Path:
    """The app's instance folder (``instance/config.py``), in a directory of the test's own."""
    from flask import Flask

    folder = tmp_path / "instance"
    folder.mkdir()
    monkeypatch.setattr(Flask, "auto_find_instance_path", lambda self: str(folder))
    return folder


def test_motorpool_settings_default_is_in_app_config_and_listed(plugins, build, instance_dir):
    tuner = plugins.add("tuner", Tuner())
    app = build()
    with app.app_context():
        assert plugin_setting(LIMIT) == 3 and app.config[LIMIT] == 3
        assert plugin_setting(VERBOSE) is False
        assert tuner.seen == 3  # declared before any other hook runs
        with pytest.raises(KeyError, match="MOTORPOOL_PLUGIN_TUNER_OTHER is not a declared plugin setting"):
            plugin_setting("MOTORPOOL_PLUGIN_TUNER_OTHER")
    assert plugin_system(app).records["tuner"].provides["settings"] == [LIMIT, VERBOSE]
    assert f"    settings: {LIMIT}, {VERBOSE}" in cli(app, "plugins", "list").output


def test_motorpool_settings_instance_config_then_environment_then_create_app_mapping(
    plugins, build, instance_dir, monkeypatch
):
    plugins.add("tuner", Tuner())
    (instance_dir / "config.py").write_text(f"{LIMIT} = 7\n{VERBOSE} = True\n")
    app = build()
    with app.app_context():
        assert (plugin_setting(LIMIT), plugin_setting(VERBOSE)) == (7, True)
        assert app.extensions["motorpool.plugin_settings"][LIMIT].source == "instance/config.py"

    monkeypatch.setenv(LIMIT, " 11 ")
    monkeypatch.setenv(VERBOSE, "off")
    app = build()
    with app.app_context():
        assert (plugin_setting(LIMIT), plugin_setting(VERBOSE)) == (11, False)  # converted from text

    app = build(**{LIMIT: 2})  # the mapping given to create_app wins, as for core settings
    with app.app_context():
        assert plugin_setting(LIMIT) == 2


@pytest.mark.parametrize(
    ("name", "raw", "message"),
    [
        (LIMIT, "eleven", f"{LIMIT} (from the environment) must be a whole number, not 'eleven'"),
        (VERBOSE, "maybe", f"{VERBOSE} (from the environment) must be true or false (1/0, yes/no, on/off), not 'maybe'"),
    ],
)
def test_motorpool_settings_bad_environment_value_stops_start_up_naming_the_setting(
    plugins, build, instance_dir, monkeypatch, name, raw, message
):
    plugins.add("tuner", Tuner())
    monkeypatch.setenv(name, raw)
    with pytest.raises(PluginSettingError) as refused:
        build(MOTORPOOL_STRICT_PLUGINS=False)  # the operator's mistake: refused even when not strict
    dispose_half_built_app(refused)
    assert str(refused.value) == message


def test_motorpool_settings_bad_instance_config_value_is_refused(plugins, build, instance_dir):
    plugins.add("tuner", Tuner())
    (instance_dir / "config.py").write_text(f"{LIMIT} = 2.5\n")
    with pytest.raises(PluginSettingError, match=rf"{LIMIT} \(from instance/config.py\) must be a whole number, not 2.5"
                       ) as refused:
        build()
    dispose_half_built_app(refused)


def test_motorpool_settings_core_name_is_refused_and_core_keeps_its_value(plugins, build, instance_dir, caplog):
    plugins.add("hijack", Tuner([Setting("MOTORPOOL_MATCHER", "nearest", str)]))
    with pytest.raises(PluginSettingError) as refused:
        build()
    dispose_half_built_app(refused)
    assert str(refused.value) == (
        "plugin 'hijack' declared the setting MOTORPOOL_MATCHER, which is a core setting; "
        "plugin settings are named MOTORPOOL_PLUGIN_HIJACK_…")

    app = build(MOTORPOOL_STRICT_PLUGINS=False)
    assert app.config["MOTORPOOL_MATCHER"] == "weighted"
    record = plugin_system(app).records["hijack"]
    assert "which is a core setting" in record.error and "settings" not in record.provides
    assert "the setting was left out" in caplog.text


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ([Setting("TUNER_LIMIT", 3, int)], "its settings must be named MOTORPOOL_PLUGIN_TUNER_…"),
        ([Setting("MOTORPOOL_PLUGIN_OTHER_LIMIT", 3, int)], "its settings must be named MOTORPOOL_PLUGIN_TUNER_…"),
        ([Setting(LIMIT, 3, int), Setting(LIMIT, 4, int)], f"{LIMIT}, already declared by plugin 'tuner'"),
        ([Setting(LIMIT, "three", int)], f"{LIMIT} (from the default declared by plugin 'tuner') must be a whole number"),
        ([Setting(LIMIT, 3, list)], "use str, int, float or bool"),
        ([Setting(LIMIT, 3, [int])], "use str, int, float or bool"),
        ([Setting(42, 3, int)], "declared a setting named 42; a name is text"),
        (["MOTORPOOL_PLUGIN_TUNER_X"], "declare app.plugins.contracts.Setting objects"),
    ],
)
def test_motorpool_settings_wrong_declarations_are_refused(plugins, build, instance_dir, settings, message):
    plugins.add("tuner", Tuner(settings))
    with pytest.raises(PluginSettingError) as refused:
        build()
    dispose_half_built_app(refused)
    assert message in str(refused.value)


# --- motorpool_dispatch_detail_types -----------------------------------------------------------


def test_motorpool_dispatch_detail_types_plugin_type_is_configurable_and_created_with_each_dispatch(build):
    from motorpool_trailers.models import TrailerInspection

    app = build()
    with inside(app):
        registry = detail_types()
        assert registry.get(TRAILER_TYPE).model is TrailerInspection
        assert registry.get(TRAILER_TYPE).plugin == TRAILERS
        assert registry.get(TRAILER_TYPE).label == "Trailer inspection"
        assert {"truck_checklist", "vehicle_dispatch", TRAILER_TYPE} <= set(registry.keys())

        trailer = ms.asset_type("Trailer")
        add_type_to_asset_type(trailer, TRAILER_TYPE)  # configurable like a built-in type
        asset = AssetFactory(asset_type=trailer)
        dispatch = new_dispatch(asset, title="Couple trailer")

        db.session.expire_all()
        tables = db.session.scalars(
            select(AllDispatchDetail.table_name).where(AllDispatchDetail.dispatch_id == dispatch.id))
        assert list(tables) == ["trailer_inspections"]
        rows = db.session.scalars(select(TrailerInspection).where(TrailerInspection.dispatch_id == dispatch.id)).all()
        assert len(rows) == 1
        assert rows[0].detail.table_name == "trailer_inspections"
        assert rows[0].coupling_checked is False and rows[0].completed_date is None


def test_motorpool_dispatch_detail_types_plugin_checklist_answered_and_signed_off_as_documented(build):
    """The plugins guide's snippet: get_checklist, save_answer, sign_off on a plugin's type."""
    from motorpool_trailers.models import TrailerInspection

    from app.services.checklists import get_checklist, save_answer

    app = build()
    with inside(app):
        trailer = ms.asset_type("Trailer")
        add_type_to_asset_type(trailer, TRAILER_TYPE)
        dispatch = new_dispatch(AssetFactory(asset_type=trailer), title="Couple trailer")
        manager = ManagerFactory()
        detail_id = dispatch.all_details[0].id

        checklist = get_checklist(detail_id)
        state = save_answer(checklist, "coupling_checked", "on", seen="", actor=manager)
        assert state.value is True
        sign_off(get_checklist(detail_id), manager)

        db.session.expire_all()
        row = db.session.scalar(select(TrailerInspection).where(TrailerInspection.detail_id == detail_id))
        assert row.coupling_checked is True and row.completed_by_id == manager.id
        assert row.completed_date is not None and row.completed_date.tzinfo is not None  # UTCDateTime: aware
        master = db.session.get(AllDispatchDetail, detail_id)
        assert (master.signed_off_by_id, master.signed_off_at) == (manager.id, row.completed_date)


def test_motorpool_dispatch_detail_types_configured_from_the_plugin_cli_command(build):
    app = build()
    with inside(app):
        ms.asset_type("Flatbed")
    result = cli(app, "trailers", "configure", "Flatbed")
    assert result.exit_code == 0, result.output
    assert "Flatbed dispatches now get a trailer inspection." in result.output
    with inside(app):
        rows = db.session.scalars(select(AssetTypeDispatchDetailTableSet.dispatch_detail_table_type)).all()
        assert rows == [TRAILER_TYPE]


def test_motorpool_dispatch_detail_types_key_already_provided_by_a_built_in_is_refused(plugins, build):
    """Built-ins answer last, so a plugin's type comes first; a second model for the same key is an error."""

    class ImpostorChecklist(DispatchDetailVirtual):
        __abstract__ = True  # not mapped: only the registry sees it
        __tablename__ = "impostor_checklists"
        detail_type = "truck_checklist"
        label = "Impostor checklist"

    class Impostor:
        @hookimpl
        def motorpool_dispatch_detail_types(self):
            return [ImpostorChecklist]

    plugins.add("impostor", Impostor())
    with pytest.raises(DetailTypeError) as refused:
        build()
    dispose_half_built_app(refused)
    # The plugin's type was registered first; the built-in one is the duplicate.
    message = str(refused.value)
    assert "'truck_checklist'" in message
    assert "app.plugins.builtin.checklists" in message and "'impostor'" in message


def test_motorpool_dispatch_detail_types_clash_outside_strict_mode_is_logged_and_skipped(plugins, build, caplog):
    """Outside strict mode a clashing type is left out and recorded; the application still starts."""

    class ImpostorChecklist(DispatchDetailVirtual):
        __abstract__ = True
        __tablename__ = "impostor_checklists"
        detail_type = "truck_checklist"
        label = "Impostor checklist"

    class Impostor:
        @hookimpl
        def motorpool_dispatch_detail_types(self):
            return [ImpostorChecklist]

    plugins.add("impostor", Impostor())
    app = build(MOTORPOOL_STRICT_PLUGINS=False)
    with app.app_context():
        registry = detail_types()
        assert registry.get("truck_checklist").plugin == "impostor"  # plugins come before trylast built-ins
        record = plugin_system(app).records["app.plugins.builtin.checklists"]
        assert "already provided by plugin 'impostor'" in record.error
        assert "vehicle_dispatch" in registry  # the rest of the built-in plugin still loaded
    assert "left out" in caplog.text


def test_motorpool_dispatch_detail_types_same_model_from_two_plugins_is_registered_once(plugins, build):
    class Again:
        @hookimpl
        def motorpool_dispatch_detail_types(self):
            return [TruckDispatchChecklist]

    plugins.add("again", Again())
    app = build()
    with inside(app):
        registry = detail_types()
        assert registry.get("truck_checklist").model is TruckDispatchChecklist
        # First result wins: the installed plugin's contribution (same class) is the one kept.
        assert registry.get("truck_checklist").plugin == "again"


# --- motorpool_migration_directories -----------------------------------------------------------


@pytest.fixture
def fresh_database_url(backend, request, tmp_path) -> str:
    """An empty database of its own on the backend under test."""
    if backend == "sqlite":
        return "sqlite:///" + str(tmp_path / "fresh.db")
    server = request.getfixturevalue("postgres_server")
    return server.create_database(f"motorpool_plugins_{uuid.uuid4().hex[:12]}")


NOTES_MIGRATION = '''
"""Notes table of the in-test plugin (its own branch)."""
import sqlalchemy as sa
from alembic import op

revision = "testnotes_0001"
down_revision = None
branch_labels = ("testnotes",)
depends_on = "0001_initial"


def upgrade():
    op.create_table(
        "testnotes_notes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("dispatch_id", sa.Integer(), sa.ForeignKey("dispatches.id"), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
    )


def downgrade():
    op.drop_table("testnotes_notes")
'''


@pytest.fixture
def notes_plugin(plugins, tmp_path):
    versions = tmp_path / "testnotes_versions"
    versions.mkdir()
    (versions / "testnotes_0001_notes.py").write_text(textwrap.dedent(NOTES_MIGRATION))

    class Notes:
        @hookimpl
        def motorpool_migration_directories(self):
            return [str(versions)]

    plugins.add("testnotes", Notes())
    return versions


@pytest.fixture
def alembic_output(monkeypatch):
    """Alembic prints to the ``sys.stdout`` of when it was imported; send it to the current one
    so that ``flask db current`` output reaches the CLI runner."""
    from alembic.config import Config

    def print_stdout(self, text, *arg):
        sys.stdout.write((text % arg if arg else text) + "\n")

    monkeypatch.setattr(Config, "print_stdout", print_stdout)


def _tables(app) -> set[str]:
    with app.app_context():
        with db.engine.connect() as connection:
            return set(inspect(connection).get_table_names())


def _stored_revisions(app) -> set[str]:
    with app.app_context():
        with db.engine.connect() as connection:
            return set(connection.scalars(text("SELECT version_num FROM alembic_version")))


def _script_heads(app) -> set[str]:
    with app.app_context():
        config = app.extensions["migrate"].migrate.get_config()
        return set(ScriptDirectory.from_config(config).get_heads())


def test_motorpool_migration_directories_flask_db_upgrade_applies_core_and_plugin_heads(
    fresh_database_url, notes_plugin, alembic_output
):
    app = create_app({**base_config(fresh_database_url), "MOTORPOOL_NOTIFIERS": "console"})
    try:
        heads = _script_heads(app)
        assert {"trailers_0001", "testnotes_0001"} <= heads
        assert len(heads) == 3  # core's head, the example plugin's and the in-test plugin's
        core_head = (heads - {"trailers_0001", "testnotes_0001"}).pop()

        result = cli(app, "db", "upgrade")  # no revision: every head
        assert result.exit_code == 0, result.output

        tables = _tables(app)
        assert {"trailer_inspections", "testnotes_notes", "dispatches", "technician_profiles"} <= tables
        assert _stored_revisions(app) == heads

        current = cli(app, "db", "current")
        assert current.exit_code == 0, current.output
        for head in heads:
            assert f"{head} (head)" in current.output
        assert core_head in current.output and "trailers_0001" in current.output
    finally:
        with app.app_context():
            db.engine.dispose()


def test_motorpool_migration_directories_still_asked_of_disabled_plugins(fresh_database_url, notes_plugin):
    """Disabling a plugin never hides its migrations: the database keeps knowing its tables."""
    config = {**base_config(fresh_database_url), "MOTORPOOL_DISABLED_PLUGINS": "testnotes,trailers"}
    app = create_app(config)
    try:
        system = plugin_manager.plugin_system(app)
        assert not system.records["testnotes"].enabled and not system.records[TRAILERS].enabled
        result = cli(app, "db", "upgrade")
        assert result.exit_code == 0, result.output
        assert {"trailer_inspections", "testnotes_notes"} <= _tables(app)
        assert {"trailers_0001", "testnotes_0001"} <= _stored_revisions(app)
        # Running it again is a no-op, not "Can't locate revision".
        again = cli(app, "db", "upgrade")
        assert again.exit_code == 0, again.output
    finally:
        with app.app_context():
            db.engine.dispose()


def test_motorpool_migration_directories_new_branch_without_depends_on_is_refused(build, plugins, tmp_path):
    """Flask-Migrate has no --depends-on: -x depends_on=REV sets it, and a new branch without it is refused."""
    versions = tmp_path / "probe_versions"
    versions.mkdir()

    class Probe:  # a plugin about to write its first revision: its directory is still empty
        @hookimpl
        def motorpool_migration_directories(self):
            return [str(versions)]

    plugins.add("probe", Probe())
    app = build()
    args = ["db", "migrate", "--head", "base", "--branch-label", "probe", "--version-path", str(versions),
            "--rev-id", "probe_0001", "-m", "probe"]
    refused = cli(app, *args)
    assert refused.exit_code == 1, refused.output
    assert ("A new migration branch must say which core revision its tables need: "
            "add -x depends_on=0001_initial (or a later core revision) after 'flask db'.") in refused.output
    assert list(versions.iterdir()) == []  # nothing written
    # With it, the command goes on (and finds no change to write: the database is up to date).
    accepted = cli(app, "db", "-x", "depends_on=0001_initial", *args[1:])
    assert accepted.exit_code == 0, accepted.output
    assert "No changes in schema detected." in accepted.output


def test_motorpool_migration_directories_of_the_example_are_applied_on_the_test_database(build):
    app = build()
    assert "trailer_inspections" in _tables(app)
    assert "trailers_0001" in _stored_revisions(app)
    assert _stored_revisions(app) == _script_heads(app)


# --- motorpool_matchers ------------------------------------------------------------------------


def _near_unskilled_and_far_expert():
    near = ms.technician("Nina Near", at=ms.km_east(1), skills={"diesel": 1})
    far = ms.technician("Felix Far", at=ms.km_east(20), skills={"diesel": 5})
    return near, far


def test_motorpool_matchers_nearest_from_the_example_picks_the_nearest_technician(build):
    weighted_app = build(MOTORPOOL_AUTO_ASSIGN=True)
    with inside(weighted_app):
        near, far = _near_unskilled_and_far_expert()
        assert "nearest" in weighted_app.extensions[MATCHERS_KEY]
        first = ms.dispatch(auto_assign=None)
        assert first.assigned_user_id == far.id  # the weighted matcher values the skill
        assert first.metrics[-1].matcher == "weighted"
        near_id, far_id = near.id, far.id

    nearest_app = build(MOTORPOOL_AUTO_ASSIGN=True, MOTORPOOL_MATCHER="nearest")
    with inside(nearest_app):
        second = ms.dispatch(auto_assign=None)
        assert second.assigned_user_id == near_id
        metric = second.metrics[-1]
        assert (metric.matcher, metric.mode, metric.note) == ("nearest", "auto", None)
        assert metric.score_breakdown["distance_km"] == pytest.approx(1.0, abs=0.05)
        assert [f["technician_id"] for f in metric.fallback_technicians] == [far_id]

        ranking = matching.rank(second)
        assert ranking.matcher == "nearest"


def test_motorpool_matchers_unknown_name_falls_back_to_weighted_and_says_so(build):
    app = build(MOTORPOOL_AUTO_ASSIGN=True, MOTORPOOL_MATCHER="no-such-matcher")
    with inside(app):
        near, far = _near_unskilled_and_far_expert()
        dispatch = ms.dispatch(auto_assign=None)
        assert dispatch.assigned_user_id == far.id
        metric = db.session.scalar(select(DispatchMetric).where(DispatchMetric.dispatch_id == dispatch.id))
        assert metric.matcher == "weighted"
        assert "'no-such-matcher' is not provided by any enabled plugin" in metric.note
        assert "used 'weighted'" in metric.note


def test_motorpool_matchers_a_raising_matcher_falls_back_to_weighted_and_the_note_records_it(plugins, build):
    broken = FixedMatcher(error=RuntimeError("routing table corrupt"))
    plugins.add("flaky", MatcherPlugin({"flaky": broken}))
    app = build(MOTORPOOL_AUTO_ASSIGN=True, MOTORPOOL_MATCHER="flaky", MOTORPOOL_TOLERATE_MATCHER_FAILURES=True)
    with inside(app):
        near, far = _near_unskilled_and_far_expert()
        dispatch = ms.dispatch(auto_assign=None)
        assert broken.calls == 1
        assert dispatch.status == "Assigned" and dispatch.assigned_user_id == far.id
        metric = db.session.scalar(select(DispatchMetric).where(DispatchMetric.dispatch_id == dispatch.id))
        assert metric.matcher == "weighted"
        assert metric.note == "Matcher 'flaky' failed (RuntimeError: routing table corrupt); used 'weighted'."


def test_motorpool_matchers_a_raising_matcher_raises_in_strict_mode(plugins, build):
    plugins.add("flaky", MatcherPlugin({"flaky": FixedMatcher(error=RuntimeError("routing table corrupt"))}))
    app = build(MOTORPOOL_MATCHER="flaky")
    with inside(app):
        ms.technician()
        dispatch = ms.dispatch()
        with pytest.raises(RuntimeError, match="routing table corrupt"):
            matching.auto_assign(dispatch)
        db.session.expire_all()
        assert dispatch.status == "Created"


def test_motorpool_matchers_an_in_test_matcher_decides_the_assignment(plugins, build):
    chooser = FixedMatcher()
    plugins.add("chooser", MatcherPlugin({"chooser": chooser}))
    app = build(MOTORPOOL_AUTO_ASSIGN=True, MOTORPOOL_MATCHER="chooser")
    with inside(app):
        near, far = _near_unskilled_and_far_expert()
        third = ms.technician("Third")
        chooser.order = [third.id, near.id]
        dispatch = ms.dispatch(auto_assign=None)
        assert dispatch.assigned_user_id == third.id
        metric = dispatch.metrics[-1]
        assert metric.matcher == "chooser"
        assert metric.score == pytest.approx(1.0)
        assert metric.fallback_technicians == [{"technician_id": near.id, "score": pytest.approx(0.9)}]


def test_motorpool_matchers_a_plugin_matcher_named_like_the_built_in_one_comes_first(plugins, build, caplog):
    impostor = FixedMatcher()
    plugins.add("impostor", MatcherPlugin({"weighted": impostor}))
    with caplog.at_level(logging.WARNING, logger="app"):
        app = build(MOTORPOOL_AUTO_ASSIGN=True)
    assert app.extensions[MATCHERS_KEY]["weighted"] is impostor
    assert "plugin app.plugins.builtin.weighted_matcher: matcher 'weighted' is already provided; ignored" in caplog.text
    with inside(app):
        near, far = _near_unskilled_and_far_expert()
        impostor.order = [near.id, far.id]  # the built-in weighted matcher would choose far
        dispatch = ms.dispatch(auto_assign=None)
        assert impostor.calls == 1
        assert dispatch.assigned_user_id == near.id


# --- motorpool_distance_provider --------------------------------------------------------------


class FerryProvider:
    """Road distances across an estuary: the technicians east of the ferry are the near ones."""

    def __init__(self, ferry_longitude: float) -> None:
        self.ferry_longitude = ferry_longitude
        self.calls: list[tuple] = []

    def distances(self, origin, latitudes, longitudes, speed_kmh):
        self.calls.append((origin, len(latitudes), speed_kmh))
        km = np.where(np.asarray(longitudes) > self.ferry_longitude, 3.0, 95.0)
        return km, km / speed_kmh


class ProviderPlugin:
    def __init__(self, provider) -> None:
        self.provider = provider
        self.asked = 0

    @hookimpl
    def motorpool_distance_provider(self):
        self.asked += 1
        return self.provider


def test_motorpool_distance_provider_built_in_haversine_answers_when_no_plugin_does(plugins, build):
    undecided = ProviderPlugin(None)
    plugins.add("undecided", undecided)
    app = build()
    assert undecided.asked == 1
    assert isinstance(app.extensions[DISTANCE_KEY], HaversineProvider)
    with inside(app):
        close = ms.technician("Close", at=ms.km_east(1))
        distant = ms.technician("Distant", at=ms.km_east(30))
        ranking = matching.rank(ms.dispatch())
        assert [c.technician_id for c in ranking.outcome.ranked] == [close.id, distant.id]
        by_id = dict(zip(ranking.loaded.pool.technician_ids.tolist(), ranking.distances.tolist(), strict=True))
        assert by_id[close.id] == pytest.approx(1.0, abs=0.05)
        assert by_id[distant.id] == pytest.approx(30.0, abs=0.5)


def test_motorpool_distance_provider_plugin_overrides_haversine_and_changes_the_ranking(plugins, build):
    ferry = FerryProvider(ferry_longitude=ms.km_east(10)[1])
    plugins.add("undecided", ProviderPlugin(None))  # None lets the next plugin decide
    plugins.add("ferry", ProviderPlugin(ferry))
    app = build(MOTORPOOL_AUTO_ASSIGN=True)
    assert app.extensions[DISTANCE_KEY] is ferry  # first result wins; Haversine answers last
    with inside(app):
        close = ms.technician("Close", at=ms.km_east(1))
        distant = ms.technician("Distant", at=ms.km_east(30))
        dispatch = ms.dispatch(at=ms.LEEDS, auto_assign=None)

        assert dispatch.assigned_user_id == distant.id
        assert ferry.calls and ferry.calls[0][0] == pytest.approx(ms.LEEDS)
        assert ferry.calls[0][2] == app.config["MOTORPOOL_TRAVEL_SPEED_KMH"]
        ranking = matching.rank(dispatch)
        by_id = dict(zip(ranking.loaded.pool.technician_ids.tolist(), ranking.distances.tolist(), strict=True))
        assert by_id == {close.id: 95.0, distant.id: 3.0}
        assert dispatch.metrics[-1].score_breakdown["distance"] == pytest.approx(0.97)


# --- motorpool_alert_checks ---------------------------------------------------------------------


def _tyre_check(category="tyre_pressure", direction="above", warning=3.0, critical=5.0):
    return AlertCheck(
        category=category, label="Tyres below pressure", unit="count", direction=direction,
        warning=warning, critical=critical,
        measure=lambda window: [MetricReading(value=4.0, message="4 assets with low tyres")],
    )


class TyreWatch:
    def __init__(self, checks) -> None:
        self.checks = checks

    @hookimpl
    def motorpool_alert_checks(self):
        return self.checks


def test_motorpool_alert_checks_are_collected_by_category_and_listed(plugins, build):
    plugins.add("tyres", TyreWatch([_tyre_check()]))
    app = build()
    with app.app_context():
        from app.services.alert_checks import registered_checks

        check = registered_checks()["tyre_pressure"]
        assert check.label == "Tyres below pressure"
        assert check.measure(None)[0].value == 4.0
    assert plugin_system(app).records["tyres"].provides["alert checks"] == ["tyre_pressure"]


@pytest.mark.parametrize(
    ("check", "why"),
    [
        (_tyre_check(category="Tyre Pressure"), "lower-case letters"),
        (_tyre_check(direction="sideways"), "direction must be one of below, above, outside"),
        (_tyre_check(direction="outside"), "warning must be a (low, high) pair"),
        ("not a check", "expected an AlertCheck, got str"),
    ],
)
def test_motorpool_alert_checks_refuses_a_malformed_check_and_says_why(plugins, build, caplog, check, why):
    plugins.add("tyres", TyreWatch([check]))
    with caplog.at_level(logging.ERROR):
        app = build()
    with app.app_context():
        from app.services.alert_checks import registered_checks

        assert "tyre_pressure" not in registered_checks() and "Tyre Pressure" not in registered_checks()
    assert why in caplog.text


def test_motorpool_alert_checks_second_claim_on_a_category_is_refused(plugins, build, caplog):
    plugins.add("tyres", TyreWatch([_tyre_check(), _tyre_check(warning=9.0)]))
    with caplog.at_level(logging.ERROR):
        app = build()
    with app.app_context():
        from app.services.alert_checks import registered_checks

        assert registered_checks()["tyre_pressure"].warning == 3.0
    assert "the category 'tyre_pressure' is already provided" in caplog.text


# --- motorpool_notifiers -----------------------------------------------------------------------


class _HookHandler(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append(
            {"path": self.path, "content_type": self.headers["Content-Type"], "json": json.loads(body)}
        )
        self.send_response(self.server.answer)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format, *args):  # noqa: A002 - keep the test output clean
        pass


@pytest.fixture
def webhook_server():
    """A real HTTP server on loopback collecting the JSON POSTed to it."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _HookHandler)
    server.received = []
    server.answer = 204
    server.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/motorpool"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def _assign_one(technician_name="Wendy Webhook"):
    technician = ms.technician(technician_name)
    dispatch = new_dispatch(priority="High")
    dispatch_service.assign(dispatch, technician, "Manual pick")
    return dispatch, technician


def _deliver(app):
    """Run the delivery worker once, as ``flask deliveries work --once`` does."""
    with app.app_context():
        try:
            return deliver_due()
        finally:
            db.session.remove()


def test_motorpool_notifiers_webhook_posts_json_to_a_real_http_server(build, webhook_server):
    app = build(MOTORPOOL_NOTIFIERS="trailers_webhook", MOTORPOOL_PLUGIN_TRAILERS_WEBHOOK_URL=webhook_server.url)
    assert set(app.extensions[NOTIFIERS_KEY]) >= {"trailers_webhook", "webhook", "console", "log_file"}
    with inside(app):
        dispatch, technician = _assign_one()
        number, email = dispatch.dispatch_number, technician.email
        delivery_id = db.session.scalar(select(NotificationDelivery.public_id))
    assert webhook_server.received == []  # queued with the assignment, sent by the worker
    _deliver(app)

    assert len(webhook_server.received) == 1
    request = webhook_server.received[0]
    assert request["path"] == "/hooks/motorpool"
    assert request["content_type"] == "application/json"
    assert request["json"] == {
        "kind": "dispatch.assigned",
        "subject": f"Dispatch {number} assigned to you",
        "body": request["json"]["body"],
        "recipients": [email],
        "severity": "warning",  # High priority
        "dispatch_number": number,
        "category": None,
        "id": delivery_id,  # the same on every retry: receivers de-duplicate on it
    }
    assert request["json"]["body"].startswith("Brake check (High).")
    assert number.startswith("D-")


def test_motorpool_notifiers_console_writes_a_line_to_stderr(build, capsys):
    app = build(MOTORPOOL_NOTIFIERS="console")
    with inside(app):
        dispatch, technician = _assign_one()
        number, email = dispatch.dispatch_number, technician.email
    _deliver(app)
    captured = capsys.readouterr()
    assert f"[WARNING] Dispatch {number} assigned to you → {email}" in captured.err
    assert number not in captured.out


def test_motorpool_notifiers_log_file_appends_json_lines(build, notification_log):
    notification_log.write_text('{"kind": "earlier"}\n', encoding="utf-8")
    app = build(MOTORPOOL_NOTIFIERS="log_file")
    with inside(app):
        first, tech = _assign_one("Lena Log")
        second = new_dispatch(priority="Low")
        dispatch_service.assign(second, tech)
        numbers = [first.dispatch_number, second.dispatch_number]
    _deliver(app)

    records = read_log(notification_log)
    assert records[0] == {"kind": "earlier"}  # appended, not overwritten
    assert [r["dispatch_number"] for r in records[1:]] == numbers
    assert [r["subject"] for r in records[1:]] == [f"Dispatch {n} assigned to you" for n in numbers]
    assert [r["severity"] for r in records[1:]] == ["warning", "info"]
    assert all(r["kind"] == "dispatch.assigned" and r["at"] for r in records[1:])


def test_motorpool_notifiers_a_failing_channel_never_blocks_the_assignment_or_the_others(
    plugins, build, notification_log, webhook_server, caplog
):
    plugins.add("pager", NotifierPlugin({"pager": FailingNotifier()}))
    webhook_server.answer = 500  # the webhook fails too
    app = build(
        MOTORPOOL_NOTIFIERS="pager,trailers_webhook,log_file",
        MOTORPOOL_PLUGIN_TRAILERS_WEBHOOK_URL=webhook_server.url,
    )
    with inside(app):
        dispatch, technician = _assign_one()
        dispatch_id, technician_id, number = dispatch.id, technician.id, dispatch.dispatch_number
    with caplog.at_level(logging.WARNING, logger="app.services.delivery_worker"):
        report = _deliver(app)

    assert (report.delivered, report.retried) == (1, 2)
    assert "on pager failed (try 1)" in caplog.text and "ConnectionError: pager gateway is down" in caplog.text
    assert "on trailers_webhook failed (try 1)" in caplog.text
    assert len(webhook_server.received) == 1  # it was tried
    assert [r["dispatch_number"] for r in read_log(notification_log)] == [number]  # log_file still delivered
    with inside(app):
        stored = db.session.get(Dispatch, dispatch_id)
        assert (stored.status, stored.assigned_user_id) == ("Assigned", technician_id)
        outcome = {row.channel: (row.status, row.last_error) for row in db.session.scalars(select(NotificationDelivery))}
        assert outcome == {
            "pager": ("pending", "ConnectionError: pager gateway is down"),
            "trailers_webhook": ("pending", "RetryableDeliveryError: webhook answered 500"),
            "log_file": ("delivered", None),
        }


def test_motorpool_notifiers_in_strict_mode_a_failing_channel_is_recorded_on_its_row(plugins, build):
    plugins.add("pager", NotifierPlugin({"pager": FailingNotifier()}))
    app = build(MOTORPOOL_NOTIFIERS="pager")
    assert app.config["MOTORPOOL_STRICT_PLUGINS"] is True
    with inside(app):
        technician = ms.technician()
        dispatch = new_dispatch()
        dispatch_service.assign(dispatch, technician)  # queuing never fails on the channel's account
        report = deliver_due()
        assert report.errors and report.retried == 1
        db.session.expire_all()
        assert (dispatch.status, dispatch.assigned_user_id) == ("Assigned", technician.id)
        row = db.session.scalar(select(NotificationDelivery))
        assert (row.status, row.attempts, row.last_error) == ("pending", 1, "ConnectionError: pager gateway is down")


def test_motorpool_notifiers_plugin_channel_named_like_a_built_in_replaces_it(plugins, build, capsys):
    sent: list[Notification] = []

    class Quiet:
        def send(self, notification):
            sent.append(notification)

    plugins.add("quiet", NotifierPlugin({"console": Quiet()}))
    app = build(MOTORPOOL_NOTIFIERS="console")
    with inside(app):
        dispatch, _ = _assign_one()
        number = dispatch.dispatch_number
    _deliver(app)
    assert [n.dispatch_number for n in sent] == [number]
    assert number not in capsys.readouterr().err


# --- lifecycle hooks ---------------------------------------------------------------------------


def test_motorpool_dispatch_created_fires_after_commit_with_the_dispatch_and_its_checklists(recorder, build):
    app = build()
    with inside(app):
        dispatch = new_dispatch()
        number = dispatch.dispatch_number
    assert recorder.of("created") == [
        {"hook": "created", "number": number, "seen": ("Created", None), "details": ["truck_dispatch_checklists"]}
    ]


def test_motorpool_dispatch_created_does_not_fire_when_the_transaction_rolls_back(recorder, build):
    app = build()
    with inside(app):
        asset = truck_asset()
        with pytest.raises(RuntimeError, match="changed my mind"):
            with transaction():
                new_dispatch(asset)
                raise RuntimeError("changed my mind")
        with pytest.raises(ValidationError):
            new_dispatch(asset, priority="Whenever")  # refused by the creation rules
        assert db.session.scalar(select(func.count()).select_from(Dispatch)) == 0
    assert recorder.calls == []


def test_motorpool_dispatch_created_listener_of_the_example_counts_trailer_dispatches(build):
    import motorpool_trailers.plugin as trailers_plugin

    app = build()
    with inside(app):
        trailer = ms.asset_type("Trailer")
        add_type_to_asset_type(trailer, TRAILER_TYPE)
        before = trailers_plugin._created["trailer_dispatches"]
        new_dispatch(AssetFactory(asset_type=trailer))
        new_dispatch()  # a truck: not counted
        assert trailers_plugin._created["trailer_dispatches"] == before + 1


def test_motorpool_dispatch_status_changed_fires_after_commit_with_from_to_reason_and_actor(recorder, build):
    app = build()
    with inside(app):
        manager = ManagerFactory()
        technician = ms.technician()
        dispatch = new_dispatch()
        with acting_as(manager):
            dispatch_service.assign(dispatch, technician, "Closest free technician")
            dispatch_service.change_status(dispatch, "En Route", "  on my way  ")
            dispatch_service.change_status(dispatch, "In Progress")
        number, manager_id, technician_id = dispatch.dispatch_number, manager.id, technician.id

    changes = [(c["from"], c["to"], c["reason"], c["actor"], c["seen"]) for c in recorder.of("status_changed")]
    assert changes == [
        ("Created", "Assigned", "Closest free technician", manager_id, ("Assigned", technician_id)),
        ("Assigned", "En Route", "on my way", manager_id, ("En Route", technician_id)),
        ("En Route", "In Progress", None, manager_id, ("In Progress", technician_id)),
    ]
    assert {c["number"] for c in recorder.of("status_changed")} == {number}


def test_motorpool_dispatch_status_changed_does_not_fire_when_the_transaction_rolls_back(recorder, build):
    app = build()
    with inside(app):
        technician = ms.technician()
        dispatch = new_dispatch()
        with pytest.raises(RuntimeError):
            with transaction():
                dispatch_service.assign(dispatch, technician)
                dispatch_service.change_status(dispatch, "In Progress")
                raise RuntimeError("power cut")
        db.session.expire_all()
        assert (dispatch.status, dispatch.assigned_user_id) == ("Created", None)
        assert ms.profile_of(technician).active_dispatch_count == 0
    assert recorder.of("status_changed") == [] and recorder.of("assigned") == []


def test_motorpool_dispatch_assigned_fires_after_commit_with_technician_metric_and_mode(recorder, build):
    app = build()
    with inside(app):
        first = ms.technician("First", at=ms.km_east(1))
        second = ms.technician("Second", at=ms.km_east(5))
        dispatch = ms.dispatch()
        metric = matching.auto_assign(dispatch)
        manual = matching.assign_to(dispatch, second.id, reason="Customer asked for Second")
        ids = (dispatch.dispatch_number, first.id, second.id, metric.id, manual.id)

    number, first_id, second_id, auto_metric_id, manual_metric_id = ids
    assert [(c["number"], c["technician"], c["metric"], c["mode"], c["seen"]) for c in recorder.of("assigned")] == [
        (number, first_id, auto_metric_id, "auto", ("Assigned", first_id)),
        (number, second_id, manual_metric_id, "manual", ("Assigned", second_id)),
    ]


def test_motorpool_dispatch_assigned_does_not_fire_when_the_transaction_rolls_back(recorder, build, notification_log):
    app = build()
    with inside(app):
        technician = ms.technician()
        dispatch = ms.dispatch()
        with pytest.raises(RuntimeError):
            with transaction():
                matching.auto_assign(dispatch)
                raise RuntimeError("abort")
        db.session.expire_all()
        assert dispatch.status == "Created"
        assert db.session.scalar(select(func.count()).select_from(DispatchMetric)) == 0
        assert ms.profile_of(technician).active_dispatch_count == 0
    assert recorder.of("assigned") == []
    assert not notification_log.exists()  # the built-in "assigned to you" did not go out either


def test_motorpool_dispatch_detail_completed_fires_after_the_sign_off_committed(recorder, build):
    from motorpool_trailers.models import TrailerInspection

    app = build()
    with inside(app):
        technician = ms.technician()
        trailer = ms.asset_type("Trailer")
        add_type_to_asset_type(trailer, TRAILER_TYPE)
        truck_dispatch = new_dispatch()
        trailer_dispatch = new_dispatch(AssetFactory(asset_type=trailer))
        dispatch_service.assign(truck_dispatch, technician)
        dispatch_service.assign(trailer_dispatch, technician)
        checklist = db.session.scalar(
            select(TruckDispatchChecklist).where(TruckDispatchChecklist.dispatch_id == truck_dispatch.id))
        inspection = db.session.scalar(
            select(TrailerInspection).where(TrailerInspection.dispatch_id == trailer_dispatch.id))

        fill_required(checklist, technician)
        fill_required(inspection, technician)
        sign_off(checklist, technician)
        sign_off(inspection, technician)
        expected = [
            (truck_dispatch.dispatch_number, checklist.id, "truck_dispatch_checklists", technician.id, technician.id),
            (trailer_dispatch.dispatch_number, inspection.id, "trailer_inspections", technician.id, technician.id),
        ]

        # The example's page and command see the signed-off inspection.
        assert "signed off: 1" in cli(app, "trailers", "stats").output

    assert [(c["number"], c["detail"], c["table"], c["actor"], c["seen_signed_by"])
            for c in recorder.of("detail_completed")] == expected


def test_motorpool_dispatch_detail_completed_does_not_fire_when_the_sign_off_rolls_back(recorder, build):
    app = build()
    with inside(app):
        technician = ms.technician()
        dispatch = new_dispatch()
        dispatch_service.assign(dispatch, technician)
        checklist = db.session.scalar(
            select(TruckDispatchChecklist).where(TruckDispatchChecklist.dispatch_id == dispatch.id))
        fill_required(checklist, technician)
        with pytest.raises(RuntimeError):
            with transaction():
                sign_off(checklist, technician)
                raise RuntimeError("abort")
        db.session.expire_all()
        assert checklist.completed_date is None and checklist.completed_by_id is None
    assert recorder.of("detail_completed") == []


# --- motorpool_blueprints / motorpool_navigation_links ------------------------------------------


def login(client, email: str):
    """Sign in by email (the users were created in another, closed session)."""
    response = AuthActions(client).login(types.SimpleNamespace(email=email))
    assert response.status_code == 302, response.text
    return response


def _nav(html: str) -> str:
    return html.split('<nav aria-label="Main">', 1)[1].split("</nav>", 1)[0]


def test_motorpool_blueprints_example_page_for_managers_forbidden_for_technicians(build):
    app = build()
    with inside(app):
        manager, technician = ManagerFactory().email, TechnicianFactory().email
    assert "trailers" in app.blueprints

    client = app.test_client()
    anonymous = client.get("/trailers/")
    assert anonymous.status_code == 302 and "/auth/login" in anonymous.headers["Location"]

    login(client, manager)
    page = client.get("/trailers/")
    assert page.status_code == 200
    assert "<h1>Trailer inspections</h1>" in page.text
    assert "0 of 0 signed off." in page.text
    AuthActions(client).logout()

    login(client, technician)
    assert client.get("/trailers/").status_code == 403


def test_motorpool_blueprints_from_an_in_test_plugin_are_registered(plugins, build):
    from flask import Blueprint

    bp = Blueprint("hello_plugin", __name__, url_prefix="/hello")
    bp.get("/")(lambda: "hello from a plugin")

    class Hello:
        @hookimpl
        def motorpool_blueprints(self):
            return [bp]

    plugins.add("hello", Hello())
    app = build()
    response = app.test_client().get("/hello/")
    assert (response.status_code, response.text) == (200, "hello from a plugin")


def test_motorpool_navigation_links_example_shows_trailers_to_managers_only(build):
    app = build()
    with inside(app):
        manager, technician = ManagerFactory().email, TechnicianFactory().email

    client = app.test_client()
    login(client, manager)
    nav = _nav(client.get("/").text)
    assert '<a href="/trailers/"><span>Trailers</span></a>' in nav
    # Order 50: after the built-in links (0 and 10).
    assert nav.index("Dispatches") < nav.index("Trailers")
    AuthActions(client).logout()

    login(client, technician)
    nav = _nav(client.get("/").text)
    assert "Trailers" not in nav and "My work" in nav


def test_motorpool_navigation_links_get_the_user_and_links_to_missing_endpoints_are_dropped(plugins, build):
    seen_roles: list[str] = []

    class Links:
        @hookimpl
        def motorpool_navigation_links(self, user):
            seen_roles.append(user.role)
            return [NavLink("Ghost", "nowhere.index", order=1), NavLink("Users first", "main.healthz", order=-1)]

    plugins.add("links", Links())
    app = build()
    with inside(app):
        manager = ManagerFactory().email
    client = app.test_client()
    login(client, manager)
    nav = _nav(client.get("/").text)
    assert "Ghost" not in nav
    assert nav.index("Users first") < nav.index("Home")
    assert "manager" in seen_roles


# --- motorpool_cli_commands --------------------------------------------------------------------


def test_motorpool_cli_commands_flask_trailers_stats_runs(build):
    app = build()
    with inside(app):
        trailer = ms.asset_type("Trailer")
        add_type_to_asset_type(trailer, TRAILER_TYPE)
        new_dispatch(AssetFactory(asset_type=trailer))
        new_dispatch(AssetFactory(asset_type=trailer))
    result = cli(app, "trailers", "stats")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("trailer inspections: 2, signed off: 0, created since start: ")


def test_motorpool_cli_commands_a_clashing_name_is_refused_and_logged(plugins, build, caplog):
    import click

    @click.command("users")
    def hijack():
        click.echo("hijacked")

    @click.command("hello")
    def hello():
        click.echo("hello from a plugin command")

    class Commands:
        @hookimpl
        def motorpool_cli_commands(self):
            return [hijack, hello]

    plugins.add("commands", Commands())
    with caplog.at_level(logging.ERROR):
        app = build()
    assert "plugin commands: command 'users' already exists and was not added" in caplog.text
    assert cli(app, "hello").output == "hello from a plugin command\n"
    listed = cli(app, "users", "list")
    assert listed.exit_code == 0 and "hijacked" not in listed.output


# --- Loading, isolation, enable / disable -------------------------------------------------------


BROKEN_MODULE = "raise RuntimeError('this plugin is broken on purpose')\n"


@pytest.fixture
def broken_plugin(plugins, tmp_path, monkeypatch):
    name = f"motorpool_broken_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{name}.py").write_text(BROKEN_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    plugins.add_entry_point("broken", name)
    yield name
    sys.modules.pop(name, None)


def test_a_plugin_that_raises_on_import_is_recorded_and_skipped_when_not_strict(broken_plugin, build, caplog):
    with caplog.at_level(logging.ERROR, logger="app.plugins.manager"):
        app = build(MOTORPOOL_STRICT_PLUGINS=False)
    record = plugin_manager.plugin_system(app).records["broken"]
    assert (record.enabled, record.error, record.hooks) == (
        False, "RuntimeError: this plugin is broken on purpose", [])
    assert "plugin broken failed to load and was skipped" in caplog.text
    # Everything else works: the example plugin and core.
    assert plugin_manager.plugin_system(app).records[TRAILERS].enabled
    with inside(app):
        assert new_dispatch().status == "Created"

    listing = cli(app, "plugins", "list")
    assert "broken  -  installed  disabled" in listing.output
    assert "    error: RuntimeError: this plugin is broken on purpose" in listing.output


def test_a_plugin_that_raises_on_import_raises_in_strict_mode(broken_plugin, build):
    with pytest.raises(RuntimeError, match="broken on purpose") as refused:
        build(MOTORPOOL_STRICT_PLUGINS=True)
    dispose_half_built_app(refused)


class Grumpy:
    @hookimpl
    def motorpool_dispatch_created(self, dispatch):
        raise ValueError(f"refusing {dispatch.dispatch_number}")


def test_a_raising_hook_implementation_is_skipped_and_logged_with_its_plugin_name(plugins, recorder, build, caplog):
    plugins.add("grumpy", Grumpy())
    app = build(MOTORPOOL_STRICT_PLUGINS=False)
    with inside(app), caplog.at_level(logging.ERROR, logger="app.plugins.manager"):
        dispatch = new_dispatch()
        number = dispatch.dispatch_number
        assert db.session.get(Dispatch, dispatch.id).status == "Created"
    assert "plugin grumpy failed in motorpool_dispatch_created and was skipped" in caplog.text
    assert [c["number"] for c in recorder.of("created")] == [number]  # the other plugin still ran
    record = plugin_manager.plugin_system(app).records["grumpy"]
    assert record.error == f"motorpool_dispatch_created: ValueError: refusing {number}"
    assert f"error: motorpool_dispatch_created: ValueError: refusing {number}" in cli(app, "plugins", "list").output


def test_a_raising_hook_implementation_raises_in_strict_mode_after_the_commit(plugins, build):
    plugins.add("grumpy", Grumpy())
    app = build(MOTORPOOL_STRICT_PLUGINS=True)
    with inside(app):
        asset = truck_asset()
        with pytest.raises(ValueError, match="refusing D-"):
            new_dispatch(asset)
        db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(Dispatch)) == 1  # committed before


def test_flask_plugins_list_shows_name_version_package_what_it_provides_hooks_state_and_error(build):
    app = build()
    result = cli(app, "plugins", "list")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    version = metadata.version("motorpool")
    trailer_hooks = [
        "motorpool_blueprints", "motorpool_cli_commands", "motorpool_dispatch_created",
        "motorpool_dispatch_detail_types", "motorpool_matchers", "motorpool_migration_directories",
        "motorpool_navigation_links", "motorpool_notifiers", "motorpool_settings",
    ]
    start = lines.index(f"{TRAILERS}  1.0.0  motorpool-trailers  enabled")
    assert lines[start + 1:start + 9] == [
        "    detail types: Trailer inspection (trailer_inspections)",
        "    matchers: nearest",
        "    notification channels: trailers_webhook",
        "    blueprints: trailers (/trailers)",
        "    commands: flask trailers",
        "    settings: MOTORPOOL_PLUGIN_TRAILERS_WEBHOOK_URL, MOTORPOOL_PLUGIN_TRAILERS_WEBHOOK_TIMEOUT",
        f"    hooks: {', '.join(trailer_hooks)}",
    ][:8]
    for header, provided in [
        ("app.plugins.builtin.checklists", "detail types: Truck dispatch checklist (truck_dispatch_checklists), "
                                           "Vehicle dispatch (vehicle_dispatches)"),
        ("app.plugins.builtin.weighted_matcher", "matchers: weighted"),
        ("app.plugins.builtin.notifiers", "notification channels: console, log_file"),
        ("app.plugins.builtin.haversine", "distance provider: HaversineProvider"),
        ("app.plugins.builtin.alert_checks", "alert checks: sla_compliance, routing_speed, completion_time, "
                                             "operational_cost, pending_queue, first_time_fix, burnout_risk, "
                                             "utilisation"),
    ]:
        at = lines.index(f"{header}  {version}  built in  enabled")
        assert lines[at + 1] == f"    {provided}"
    assert "    hooks: motorpool_notifiers" in lines
    # Built-ins first, then installed plugins.
    assert lines[0].startswith("app.plugins.builtin.")
    assert "error:" not in result.output


def test_flask_plugins_disable_trailers_takes_effect_in_the_next_app_and_keeps_migrations(
    build, webhook_server, caplog, alembic_output
):
    app = build()
    with inside(app):
        trailer = ms.asset_type("Trailer")
        add_type_to_asset_type(trailer, TRAILER_TYPE)
        truck = truck_asset()
        trailer_asset = AssetFactory(asset_type=trailer)
        ids = {"truck": truck.id, "trailer": trailer_asset.id, "manager": ManagerFactory().email}

    result = cli(app, "plugins", "disable", TRAILERS)
    assert result.exit_code == 0, result.output
    assert result.output == "trailers disabled. Restart Motorpool for it to take effect.\n"
    with inside(app):
        setting = db.session.scalar(select(PluginSetting).where(PluginSetting.name == TRAILERS))
        assert setting is not None and setting.enabled is False
    assert "trailers" in app.blueprints  # the running app is unchanged until the restart

    with caplog.at_level(logging.WARNING):
        restarted = build(
            MOTORPOOL_MATCHER="nearest", MOTORPOOL_AUTO_ASSIGN=True,
            MOTORPOOL_NOTIFIERS="pager,log_file", MOTORPOOL_PLUGIN_TRAILERS_WEBHOOK_URL=webhook_server.url,
        )
    system = plugin_manager.plugin_system(restarted)
    assert system.records[TRAILERS].enabled is False
    assert "nearest" not in restarted.extensions[MATCHERS_KEY]
    assert "trailers_webhook" not in restarted.extensions[NOTIFIERS_KEY]
    assert "trailers" not in restarted.blueprints
    assert "trailers" not in restarted.cli.commands
    with inside(restarted):
        assert TRAILER_TYPE not in detail_types()
        ms.technician()
        # Core still works for types that do not use the plugin; the matcher falls back.
        dispatch = new_dispatch(db.session.get(Asset, ids["truck"]))
        assert dispatch.status == "Assigned"
        assert "'nearest' is not provided by any enabled plugin" in dispatch.metrics[-1].note
        # An asset type configured with the plugin's checklist is refused, clearly.
        with pytest.raises(ValidationError) as refused:
            new_dispatch(db.session.get(Asset, ids["trailer"]))
        assert "configured with the detail type 'trailer_inspection', which no enabled plugin provides" in (
            refused.value.message)
        assert "Enable the plugin that provides it" in refused.value.message
        with pytest.raises(ValidationError, match="There is no detail type 'trailer_inspection'"):
            add_type_to_asset_type(ms.asset_type("Dolly"), TRAILER_TYPE)
    assert webhook_server.received == []
    assert "notification channels ['pager'] are configured but no enabled plugin provides them" in caplog.text

    client = restarted.test_client()
    login(client, ids["manager"])
    assert client.get("/trailers/").status_code == 404
    assert "Trailers" not in _nav(client.get("/").text)

    # flask db upgrade still knows the plugin's branch (the inventory keeps its migrations).
    upgraded = cli(restarted, "db", "upgrade")
    assert upgraded.exit_code == 0, upgraded.output
    assert "trailers_0001 (head)" in cli(restarted, "db", "current").output
    listing = cli(restarted, "plugins", "list").output
    assert f"{TRAILERS}  1.0.0  motorpool-trailers  disabled" in listing

    enabled = cli(restarted, "plugins", "enable", TRAILERS)
    assert enabled.output == "trailers enabled. Restart Motorpool for it to take effect.\n"
    again = build()
    assert plugin_manager.plugin_system(again).records[TRAILERS].enabled
    assert "trailers" in again.blueprints and TRAILER_TYPE in again.extensions["motorpool.detail_types"]


def test_flask_plugins_enable_of_an_enabled_plugin_needs_no_restart(build):
    app = build()
    result = cli(app, "plugins", "enable", TRAILERS)
    assert (result.exit_code, result.output) == (0, "trailers enabled.\n")


def test_core_works_when_the_example_plugin_is_absent(plugins, build):
    plugins.hide(TRAILERS)
    app = build(MOTORPOOL_AUTO_ASSIGN=True)
    system = plugin_manager.plugin_system(app)
    assert TRAILERS not in system.records
    assert sorted(system.records) == sorted(plugin_manager.BUILTIN_PLUGINS)
    assert "trailers" not in app.blueprints and "nearest" not in app.extensions[MATCHERS_KEY]
    with inside(app):
        assert TRAILER_TYPE not in detail_types()
        technician = ms.technician()
        dispatch = new_dispatch()
        assert (dispatch.status, dispatch.assigned_user_id) == ("Assigned", technician.id)
        assert [d.table_name for d in dispatch.all_details] == ["truck_dispatch_checklists"]
    assert cli(app, "trailers", "stats").exit_code != 0
    assert TRAILERS not in cli(app, "plugins", "list").output


@pytest.mark.parametrize("command", ["enable", "disable"])
def test_enabling_or_disabling_an_unknown_plugin_is_refused(build, command):
    app = build()
    result = cli(app, "plugins", command, "no-such-plugin")
    assert result.exit_code == 1
    assert "There is no plugin named 'no-such-plugin'. Installed plugins: " in result.output
    assert "trailers" in result.output
    with inside(app):
        assert db.session.scalar(select(func.count()).select_from(PluginSetting)) == 0


@pytest.mark.parametrize(
    "essential",
    ["app.plugins.builtin.weighted_matcher", "app.plugins.builtin.haversine"],
)
def test_disabling_an_essential_built_in_is_refused(build, essential):
    app = build()
    result = cli(app, "plugins", "disable", essential)
    assert result.exit_code == 1
    assert f"{essential} provides core behaviour and cannot be disabled" in result.output
    with inside(app):
        assert db.session.scalar(select(func.count()).select_from(PluginSetting)) == 0


def test_builtin_implementations_are_trylast(build):
    """So that an installed plugin's implementation is always called before a built-in one."""
    app = build()
    system = plugin_manager.plugin_system(app)
    for hook in HOOKS:
        for impl in getattr(system.manager.hook, hook).get_hookimpls():
            if impl.plugin_name in plugin_manager.BUILTIN_PLUGINS:
                assert impl.trylast, f"{impl.plugin_name}.{hook} is not trylast"
    order = [name for name, _ in system.call_each("motorpool_matchers")]
    assert order == [TRAILERS, "app.plugins.builtin.weighted_matcher"]


class OwnFactorsMatcher:
    """Ranks by id and explains each score with factors the built-in matcher does not have."""

    def rank(self, pool, request, distances_km, settings, limit=20):
        ids = sorted(int(i) for i in pool.technician_ids)
        return MatchOutcome(ranked=[
            RankedCandidate(t, 0.9 - 0.1 * n, {"road_minutes": 12.5 + n, "road_minutes_contribution": 0.25,
                                              "skill": 0.8, "certified_hazmat": "yes", "total": 0.9 - 0.1 * n})
            for n, t in enumerate(ids)
        ])


def _why_rows(page: str) -> list[tuple[str, str, str, str]]:
    import re

    rows = []
    for table in re.findall(r'<table class="breakdown">(.*?)</table>', page, re.S):
        for label, value, weight, contribution in re.findall(
                r'<tr><th scope="row">(.*?)</th><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td></tr>', table):
            rows.append((label, value, weight, contribution))
    return rows


def test_motorpool_matchers_own_factor_names_are_shown_in_the_why_table(plugins, build):
    plugins.add("ownfactors", MatcherPlugin({"ownfactors": OwnFactorsMatcher()}))
    app = build(MOTORPOOL_AUTO_ASSIGN=True, MOTORPOOL_MATCHER="ownfactors")
    with inside(app):
        first = ms.technician("Ada First")
        ms.technician("Bo Second")
        dispatch = ms.dispatch(auto_assign=None)
        assert dispatch.assigned_user_id == first.id
        dispatch_id = dispatch.id
        manager_id = ManagerFactory().id
    client = app.test_client()
    with app.app_context():
        AuthActions(client).login(db.session.get(User, manager_id))
    page = client.get(f"/dispatches/{dispatch_id}").get_data(as_text=True)
    rows = _why_rows(page)
    # The stored metric's breakdown, then each ranked candidate's: every factor the matcher gave.
    assert ("Skill", "0.80", "40 %", "0.320") in rows  # a known factor keeps its label and weight
    assert ("Road minutes", "12.50", "—", "0.250") in rows
    assert ("Road minutes", "13.50", "—", "0.250") in rows
    assert ("Certified hazmat", "yes", "—", "—") in rows
    assert not any(label in ("Total", "Road minutes contribution") for label, *_ in rows)


def test_motorpool_matchers_the_example_nearest_matcher_s_distance_is_shown(build):
    app = build(MOTORPOOL_AUTO_ASSIGN=True, MOTORPOOL_MATCHER="nearest")
    with inside(app):
        near, _far = _near_unskilled_and_far_expert()
        dispatch = ms.dispatch(auto_assign=None)
        assert dispatch.assigned_user_id == near.id
        dispatch_id = dispatch.id
        manager_id = ManagerFactory().id
    client = app.test_client()
    with app.app_context():
        AuthActions(client).login(db.session.get(User, manager_id))
    rows = _why_rows(client.get(f"/dispatches/{dispatch_id}").get_data(as_text=True))
    assert ("Distance km", "1.00", "—", "—") in rows


def test_motorpool_notifiers_a_plugin_cannot_take_the_webhook_subscriptions_channel(plugins, build, caplog):
    plugins.add("pager", NotifierPlugin({"subscription": FailingNotifier()}))
    app = build(MOTORPOOL_NOTIFIERS="subscription,log_file")
    assert "subscription" not in app.extensions[NOTIFIERS_KEY]
    assert "'subscription' is a name Motorpool keeps for itself; ignored" in caplog.text
    with inside(app):
        technician = ms.technician()
        dispatch_service.assign(new_dispatch(), technician)
        channels = list(db.session.scalars(select(NotificationDelivery.channel)))
    assert channels == ["log_file"]  # routing never queues a notification on the subscriptions' channel
