"""Channel settings that cannot work stop start-up with what to set; secrets are never shown."""

from __future__ import annotations

import base64

import pytest

from app.config import from_environment
from app.plugins import hookimpl
from app.services.notifications import EXTENSION_KEY
from tests.plugin_support import Plugins

SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
EMAIL = dict(MOTORPOOL_SMTP_HOST="smtp.example.com", MOTORPOOL_SMTP_FROM="motorpool@example.com")
NO_EXAMPLE = dict(MOTORPOOL_DISABLED_PLUGINS="trailers")  # the example plugin plays no part here


@pytest.mark.parametrize(("settings", "message"), [
    (dict(MOTORPOOL_NOTIFIERS="console,email", MOTORPOOL_SMTP_FROM="m@example.com"),
     "the email channel is active (MOTORPOOL_NOTIFIERS) but MOTORPOOL_SMTP_HOST is not set; set it, or remove "
     "email from MOTORPOOL_NOTIFIERS"),
    (dict(MOTORPOOL_NOTIFIERS="email"),
     "MOTORPOOL_SMTP_HOST, MOTORPOOL_SMTP_FROM are not set; set them"),
    (dict(MOTORPOOL_NOTIFIERS="email", **EMAIL, MOTORPOOL_SMTP_SECURITY="ssl"),
     "MOTORPOOL_SMTP_SECURITY must be starttls, tls or none, not 'ssl'"),
    (dict(MOTORPOOL_SMTP_SECURITY="STARTTLS-ish"), "MOTORPOOL_SMTP_SECURITY must be starttls, tls or none"),
    (dict(MOTORPOOL_NOTIFIERS="email", **EMAIL, MOTORPOOL_SMTP_PORT=70000),
     "MOTORPOOL_SMTP_PORT must be a port number between 1 and 65535, not 70000"),
    (dict(MOTORPOOL_NOTIFIERS="email", **EMAIL, MOTORPOOL_SMTP_USERNAME="motorpool"),
     "MOTORPOOL_SMTP_USERNAME is set but MOTORPOOL_SMTP_PASSWORD is not; set both"),
    (dict(MOTORPOOL_NOTIFIERS="email", **EMAIL, MOTORPOOL_SMTP_USERNAME="u", MOTORPOOL_SMTP_PASSWORD="hunter2-secret",
          MOTORPOOL_SMTP_SECURITY="none"),
     "would send the password unencrypted; use starttls or tls"),
    (dict(MOTORPOOL_NOTIFIERS="email", MOTORPOOL_SMTP_HOST="smtp.example.com", MOTORPOOL_SMTP_FROM="motorpool"),
     "MOTORPOOL_SMTP_FROM must be an email address"),
    (dict(MOTORPOOL_SMTP_CA_FILE="/nowhere/ca.pem"), "MOTORPOOL_SMTP_CA_FILE must be a readable PEM file"),
    (dict(MOTORPOOL_SMTP_TIMEOUT=0), "MOTORPOOL_SMTP_TIMEOUT must be a number of seconds between 0 and 300"),
    (dict(MOTORPOOL_WEBHOOK_TIMEOUT=-1.0), "MOTORPOOL_WEBHOOK_TIMEOUT must be a number of seconds"),
    (dict(MOTORPOOL_WEBHOOK_URL="ftp://hooks.example.com/x"),
     "MOTORPOOL_WEBHOOK_URL must be an http:// or https:// URL, not ftp:"),
    (dict(MOTORPOOL_SLACK_WEBHOOK_URL="hooks.slack.com/services/T/B/SECRETPATH"),
     "MOTORPOOL_SLACK_WEBHOOK_URL must be an http:// or https:// URL, not no scheme"),
    (dict(MOTORPOOL_TEAMS_WEBHOOK_URL="https:///path"), "MOTORPOOL_TEAMS_WEBHOOK_URL must name a host"),
    (dict(MOTORPOOL_TEAMS_WEBHOOK_URL="https://example.com:port/x"), "MOTORPOOL_TEAMS_WEBHOOK_URL is not a valid URL"),
    (dict(MOTORPOOL_WEBHOOK_SECRET="not-a-secret"), "MOTORPOOL_WEBHOOK_SECRET must be a Standard Webhooks secret"),
    (dict(MOTORPOOL_WEBHOOK_SECRET="whsec_!!!notbase64"), "MOTORPOOL_WEBHOOK_SECRET must be a Standard Webhooks"),
    (dict(MOTORPOOL_NOTIFIERS="webhook", **NO_EXAMPLE, MOTORPOOL_WEBHOOK_URL="https://hooks.example.com/m"),
     "the webhook channel is active (MOTORPOOL_NOTIFIERS) but MOTORPOOL_WEBHOOK_SECRET is not set"),
    (dict(MOTORPOOL_NOTIFIERS="slack"), "the slack channel is active (MOTORPOOL_NOTIFIERS) but "
                                        "MOTORPOOL_SLACK_WEBHOOK_URL is not set"),
    (dict(MOTORPOOL_NOTIFIERS="teams"), "MOTORPOOL_TEAMS_WEBHOOK_URL is not set"),
])
def test_start_up_refuses_and_says_what_to_set(make_app, settings, message):
    with pytest.raises(ValueError) as refused:
        make_app(**settings)
    assert message in str(refused.value)
    # Neither the password nor a URL's path (Slack's credential) is repeated.
    assert "hunter2-secret" not in str(refused.value) and "SECRETPATH" not in str(refused.value)


def test_missing_settings_of_an_inactive_channel_do_not_matter(make_app):
    app = make_app(MOTORPOOL_NOTIFIERS="console")
    assert app.config["MOTORPOOL_SMTP_HOST"] is None
    assert app.config["MOTORPOOL_SMTP_SECURITY"] == "starttls"


def test_complete_settings_start_and_are_normalised(make_app):
    app = make_app(MOTORPOOL_NOTIFIERS="email,webhook,slack,teams", **EMAIL, **NO_EXAMPLE,
                   MOTORPOOL_SMTP_SECURITY=" TLS ", MOTORPOOL_WEBHOOK_URL="https://hooks.example.com/m",
                   MOTORPOOL_WEBHOOK_SECRET=SECRET, MOTORPOOL_SLACK_WEBHOOK_URL="https://hooks.slack.com/services/T/B/X",
                   MOTORPOOL_TEAMS_WEBHOOK_URL="https://example.webhook.office.com/w", MOTORPOOL_SMTP_TIMEOUT=3)
    assert app.config["MOTORPOOL_SMTP_SECURITY"] == "tls"
    assert app.config["MOTORPOOL_SMTP_TIMEOUT"] == 3.0
    assert {"email", "webhook", "slack", "teams", "in_app"} <= set(app.extensions[EXTENSION_KEY])


@pytest.fixture
def plugins(monkeypatch) -> Plugins:
    return Plugins(monkeypatch)


class OwnWebhook:
    """An installed plugin's channel named like a built-in one; it has settings of its own."""

    def send(self, notification, attempt) -> None:
        pass

    @hookimpl
    def motorpool_notifiers(self):
        return {"webhook": self}


def test_an_installed_plugins_channel_of_the_same_name_is_not_held_to_our_settings(make_app, plugins):
    own = plugins.add("own_webhook", OwnWebhook())
    app = make_app(MOTORPOOL_NOTIFIERS="webhook")  # no MOTORPOOL_WEBHOOK_URL: not required for it
    assert app.extensions[EXTENSION_KEY]["webhook"] is own


@pytest.mark.parametrize(("name", "value", "message"), [
    ("MOTORPOOL_SMTP_PORT", "submission", "MOTORPOOL_SMTP_PORT must be a whole number, not 'submission'"),
    ("MOTORPOOL_SMTP_TIMEOUT", "ten", "MOTORPOOL_SMTP_TIMEOUT must be a number such as 10, not 'ten'"),
])
def test_environment_values_of_the_wrong_type_are_refused(name, value, message):
    with pytest.raises(ValueError, match=message):
        from_environment({name: value})


def test_environment_values_are_read_with_their_types():
    settings = from_environment({"MOTORPOOL_SMTP_PORT": "2525", "MOTORPOOL_WEBHOOK_TIMEOUT": "2.5",
                                 "MOTORPOOL_WEBHOOK_REFUSE_PRIVATE": "on", "MOTORPOOL_SMTP_PASSWORD": "pw"})
    assert settings == {"MOTORPOOL_SMTP_PORT": 2525, "MOTORPOOL_WEBHOOK_TIMEOUT": 2.5,
                        "MOTORPOOL_WEBHOOK_REFUSE_PRIVATE": True, "MOTORPOOL_SMTP_PASSWORD": "pw"}


def test_the_plugins_page_hides_the_webhook_secret_and_url_paths(make_app):
    from tests.factories import AdminFactory

    app = make_app(MOTORPOOL_NOTIFIERS="webhook,slack", **NO_EXAMPLE, MOTORPOOL_WEBHOOK_SECRET=SECRET,
                   MOTORPOOL_WEBHOOK_URL="https://hooks.example.com/motorpool/TOKENPART",
                   MOTORPOOL_SLACK_WEBHOOK_URL="https://hooks.slack.com/services/T0/B0/SLACKTOKEN")
    with app.app_context():
        admin = AdminFactory()
        client = app.test_client()
        client.post("/auth/login", data={"email": admin.email, "password": "correct horse battery"})
        page = client.get("/admin/plugins").get_data(as_text=True)
    assert SECRET not in page and SECRET.removeprefix("whsec_") not in page
    assert "SLACKTOKEN" not in page and "TOKENPART" not in page
    assert "https://hooks.slack.com/… (path hidden)" in page
    assert page.count("set, hidden") == 1  # the webhook secret; no SMTP password is set
