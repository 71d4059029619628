"""The plugins page: what is loaded, and enabling or disabling plugins for the next start."""

from __future__ import annotations

import re
from importlib import metadata

import pytest

from app.models import PluginSetting
from app.plugins import hookimpl
from app.plugins.contracts import Setting
from app.services.plugins import ESSENTIAL, list_plugins
from tests.admin_support import html, rows
from tests.conftest import AuthActions
from tests.factories import AdminFactory, PluginSettingFactory
from tests.plugin_support import Plugins

NOTIFIERS = "app.plugins.builtin.notifiers"
MATCHER = "app.plugins.builtin.weighted_matcher"


@pytest.fixture
def admin(app, client, auth):
    user = AdminFactory()
    auth.login(user)
    return user


def settings():
    return rows(PluginSetting, PluginSetting.name, PluginSetting.enabled)


def row_of(page: str, name: str) -> str:
    return page.split(f'<tr data-plugin="{name}"', 1)[1].split("</tr>", 1)[0]


def provided(row: str) -> dict[str, str]:
    """``{kind: names}`` from a row's Provides list."""
    return dict(re.findall(r"<li><strong>(.*?):</strong> (.*?)</li>", row))


def test_the_page_lists_every_loaded_plugin(client, admin):
    page = html(client.get("/admin/plugins"))
    assert "takes effect after a restart" in page
    for record in list_plugins():
        row = row_of(page, record.name)
        assert f"<td>{'built in' if record.builtin else record.origin}</td>" in row
        assert f"<td>{record.version or ''}</td>" in row
        assert f"Hooks: {', '.join(record.hooks)}" in row
        assert ("Enabled" if record.enabled else "Disabled") in row


def test_the_page_names_what_each_plugin_provides(client, admin):
    page = html(client.get("/admin/plugins"))
    version = metadata.version("motorpool")
    assert provided(row_of(page, "app.plugins.builtin.checklists")) == {
        "Detail types": "Truck dispatch checklist (truck_dispatch_checklists), Vehicle dispatch (vehicle_dispatches)"}
    assert provided(row_of(page, MATCHER)) == {"Matchers": "weighted"}
    assert provided(row_of(page, NOTIFIERS)) == {"Notification channels": "console, log_file"}
    assert provided(row_of(page, "app.plugins.builtin.haversine")) == {"Distance provider": "HaversineProvider"}
    assert provided(row_of(page, "app.plugins.builtin.alert_checks")) == {
        "Alert checks": "sla_compliance, routing_speed, completion_time, operational_cost, pending_queue, "
                        "first_time_fix, burnout_risk, utilisation"}
    assert f"<td>built in</td>\n      <td>{version}</td>" in row_of(page, MATCHER)
    # The example package, installed with pip: its distribution's name and version.
    trailers = row_of(page, "trailers")
    assert "<td>motorpool-trailers</td>\n      <td>1.0.0</td>" in trailers
    assert provided(trailers) == {
        "Detail types": "Trailer inspection (trailer_inspections)",
        "Matchers": "nearest",
        "Notification channels": "trailers_webhook",
        "Blueprints": "trailers (/trailers)",
        "Commands": "flask trailers",
        "Settings": "MOTORPOOL_PLUGIN_TRAILERS_WEBHOOK_URL, MOTORPOOL_PLUGIN_TRAILERS_WEBHOOK_TIMEOUT",
    }


class Pager:
    """An installed-style plugin (an entry point of group motorpool) with a channel, a matcher and a setting."""

    @hookimpl
    def motorpool_settings(self):
        return [Setting("MOTORPOOL_PLUGIN_PAGER_GATEWAY", "https://pager.invalid", str)]

    @hookimpl
    def motorpool_notifiers(self):
        return {"pager": object(), "console": object()}  # replaces the built-in "console" (built-ins answer last)

    @hookimpl
    def motorpool_matchers(self):
        return {"fastest": object()}


def test_page_and_cli_show_the_same_inventory_for_an_entry_point_plugin(monkeypatch, make_app):
    Plugins(monkeypatch).add("pager", Pager())
    app = make_app()
    client = app.test_client()
    with app.app_context():
        AuthActions(client).login(AdminFactory())
        page = html(client.get("/admin/plugins"))
    row = row_of(page, "pager")
    assert "<td>installed</td>" in row
    assert provided(row) == {
        "Matchers": "fastest", "Notification channels": "pager, console", "Settings": "MOTORPOOL_PLUGIN_PAGER_GATEWAY"}
    # Each name is listed under the plugin that really provides it.
    assert provided(row_of(page, NOTIFIERS)) == {"Notification channels": "log_file"}

    lines = app.test_cli_runner().invoke(args=["plugins", "list"]).output.splitlines()
    at = lines.index("pager  -  installed  enabled")
    assert lines[at + 1:at + 5] == [
        "    matchers: fastest",
        "    notification channels: pager, console",
        "    settings: MOTORPOOL_PLUGIN_PAGER_GATEWAY",
        "    hooks: motorpool_matchers, motorpool_notifiers, motorpool_settings",
    ]
    at = lines.index(f"{NOTIFIERS}  {metadata.version('motorpool')}  built in  enabled")
    assert lines[at + 1] == "    notification channels: log_file"


def test_a_disabled_plugin_provides_nothing_and_the_page_says_so(make_app):
    app = make_app(MOTORPOOL_DISABLED_PLUGINS="trailers")
    client = app.test_client()
    with app.app_context():
        AuthActions(client).login(AdminFactory())
        row = row_of(html(client.get("/admin/plugins")), "trailers")
    assert provided(row) == {} and "Nothing while disabled." in row
    assert "Disabled by MOTORPOOL_DISABLED_PLUGINS." in row


def test_essential_plugins_say_why_they_cannot_be_disabled(client, admin):
    page = html(client.get("/admin/plugins"))
    for name in ESSENTIAL:
        row = row_of(page, name)
        assert "Essential: matching falls back on it, so it cannot be disabled." in row
        assert "<button" not in row
    assert "<button" in row_of(page, NOTIFIERS)


def test_disabling_and_enabling_a_plugin_applies_at_the_next_start(client, admin):
    response = client.post("/admin/plugins", data={"name": NOTIFIERS, "enabled": "0"})
    assert response.status_code == 302
    assert settings() == [(NOTIFIERS, False)]
    page = html(client.get("/admin/plugins"))
    assert f"{NOTIFIERS} will be disabled when the application is restarted" in page
    row = row_of(page, NOTIFIERS)
    assert "Enabled" in row and "Will be disabled at the next restart." in row  # still loaded until then
    assert 'name="enabled" value="1"' in row

    client.post("/admin/plugins", data={"name": NOTIFIERS, "enabled": "1"})
    assert settings() == [(NOTIFIERS, True)]
    page = html(client.get("/admin/plugins"))
    assert f"{NOTIFIERS} stays enabled." in page
    assert "next restart" not in row_of(page, NOTIFIERS)


def test_a_plugin_disabled_at_start_up_can_be_enabled_for_the_next_start(make_app):
    app = make_app()
    with app.app_context():
        PluginSettingFactory(name=NOTIFIERS, enabled=False)
        admin_email = AdminFactory().email
    restarted = make_app()
    client = restarted.test_client()
    with restarted.app_context():
        client.post("/auth/login", data={"email": admin_email, "password": "correct horse battery"})
        row = row_of(client.get("/admin/plugins").get_data(as_text=True), NOTIFIERS)
        assert "Disabled" in row and 'name="enabled" value="1"' in row
        assert client.post("/admin/plugins", data={"name": NOTIFIERS, "enabled": "1"}).status_code == 302
        page = client.get("/admin/plugins").get_data(as_text=True)
        assert f"{NOTIFIERS} will be enabled when the application is restarted" in page
        assert "Will be enabled at the next restart." in row_of(page, NOTIFIERS)


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        ({"name": MATCHER, "enabled": "0"}, 422, f"{MATCHER} provides core behaviour and cannot be disabled"),
        ({"name": "<i>nope</i>", "enabled": "0"}, 422, "There is no plugin named &#39;&lt;i&gt;nope&lt;/i&gt;&#39;"),
        ({"name": NOTIFIERS, "enabled": "off"}, 400, "Send enabled=1 or enabled=0."),
    ],
)
def test_refusals_change_nothing(client, admin, data, status, message):
    response = client.post("/admin/plugins", data=data)
    assert response.status_code == status
    assert message in html(response)
    assert "<i>nope</i>" not in html(response)
    assert settings() == []


def test_flask_plugins_list_works_before_the_database_is_migrated(tmp_path):
    """The inventory reads the stored plugin states only when their table exists."""
    from app import create_app
    from app.extensions import db
    from tests.conftest import base_config

    app = create_app(base_config("sqlite:///" + str(tmp_path / "empty.db")))
    try:
        result = app.test_cli_runner().invoke(args=["plugins", "list"])
        assert result.exit_code == 0, result.output
        assert f"{MATCHER}  {metadata.version('motorpool')}  built in  enabled" in result.output.splitlines()
    finally:
        with app.app_context():
            db.engine.dispose()
