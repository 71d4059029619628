"""The email channel against a real SMTP server on loopback: STARTTLS, TLS, login, failures."""

from __future__ import annotations

import logging
import ssl
from datetime import UTC, datetime

import pytest
import trustme

from app.plugins.contracts import DeliveryAttempt, Notification, PermanentDeliveryError, RetryableDeliveryError
from app.services.notifications import EXTENSION_KEY
from tests.factories import AdminFactory, ManagerFactory, TechnicianFactory
from tests.support.smtp_server import PASSWORD, USERNAME, SMTPServer, free_port


@pytest.fixture(scope="module")
def ca(tmp_path_factory):
    authority = trustme.CA()
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    authority.cert_pem.write_to_path(str(path))
    return authority, str(path)


def _server_context(ca) -> ssl.SSLContext:
    authority, _path = ca
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return context


@pytest.fixture
def smtp(request, ca):
    security = getattr(request, "param", "starttls")
    server = SMTPServer(security, _server_context(ca) if security != "none" else None).start()
    yield server
    server.stop()


def _email_app(make_app, server, ca, **overrides):
    config = dict(
        MOTORPOOL_NOTIFIERS="email",
        MOTORPOOL_SMTP_HOST="127.0.0.1",
        MOTORPOOL_SMTP_PORT=server.port,
        MOTORPOOL_SMTP_SECURITY=server.security,
        MOTORPOOL_SMTP_FROM="motorpool@fleet.example",
        MOTORPOOL_SMTP_CA_FILE=ca[1],
        MOTORPOOL_SMTP_TIMEOUT=5.0,
    )
    if server.security != "none":
        config.update(MOTORPOOL_SMTP_USERNAME=USERNAME, MOTORPOOL_SMTP_PASSWORD=PASSWORD)
    config.update(overrides)
    return make_app(**config)


def _attempt(delivery_id: str = "dlv-0001") -> DeliveryAttempt:
    return DeliveryAttempt(delivery_id=delivery_id, channel="email", attempt=1, created_at=datetime.now(UTC))


def _alert(**fields) -> Notification:
    defaults = dict(kind="alert.firing", subject="Pending queue is critical", body="23 dispatches wait.\n\nAct <now>.",
                    severity="critical", category="pending_queue", roles=["manager"])
    return Notification(**{**defaults, **fields})


@pytest.mark.parametrize("smtp", ["starttls", "tls"], indirect=True)
def test_both_parts_arrive_at_the_managers_over_tls_with_login(make_app, smtp, ca):
    app = _email_app(make_app, smtp, ca)
    with app.app_context():
        ManagerFactory(email="mia@example.com")
        ManagerFactory(email="max@example.com")
        TechnicianFactory(email="tom@example.com")
        notifier = app.extensions[EXTENSION_KEY]["email"]
        notifier.send(_alert(recipients=["MIA@example.com", "ops@outside.example"]), _attempt("dlv-42"))

    assert len(smtp.received) == 1
    got = smtp.received[0]
    assert sorted(got.recipients) == ["max@example.com", "mia@example.com", "ops@outside.example"]
    assert got.sender == "motorpool@fleet.example"
    message = got.message
    assert message["Subject"] == "Pending queue is critical"
    assert message["Message-ID"] == "<dlv-42@fleet.example>"
    assert message["X-Motorpool-Delivery-Id"] == "dlv-42"
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "23 dispatches wait." in text
    # No HTML given: the body is escaped into paragraphs.
    assert "<p>Act &lt;now&gt;.</p>" in html
    assert smtp.handler.logins and smtp.handler.logins[0][1] == USERNAME


@pytest.mark.parametrize("mechanism", ["LOGIN", "PLAIN"])
def test_login_and_plain_both_sign_in(make_app, smtp, ca, mechanism, monkeypatch):
    import smtplib

    # smtplib picks the first mechanism both sides offer; limit the client to one.
    original = smtplib.SMTP.login

    def login(self, user, password, *, initial_response_ok=True):
        self.esmtp_features["auth"] = mechanism
        return original(self, user, password, initial_response_ok=initial_response_ok)

    monkeypatch.setattr(smtplib.SMTP, "login", login)
    app = _email_app(make_app, smtp, ca)
    with app.app_context():
        AdminFactory(email="ada@example.com")
        app.extensions[EXTENSION_KEY]["email"].send(_alert(roles=["admin"]), _attempt())
    assert smtp.handler.logins == [(mechanism, USERNAME)]
    assert smtp.received[0].recipients == ["ada@example.com"]


def test_a_given_html_part_is_sent_as_it_is(make_app, smtp, ca):
    app = _email_app(make_app, smtp, ca)
    with app.app_context():
        ManagerFactory()
        app.extensions[EXTENSION_KEY]["email"].send(_alert(html="<h1>Queue</h1>"), _attempt())
    assert "<h1>Queue</h1>" in smtp.received[0].message.get_body(("html",)).get_content()


def test_wrong_password_is_permanent_says_what_to_set_and_never_shows_the_password(make_app, smtp, ca, caplog):
    app = _email_app(make_app, smtp, ca, MOTORPOOL_SMTP_PASSWORD="wrong-Pa55word-xyz")
    caplog.set_level(logging.DEBUG)
    with app.app_context():
        ManagerFactory()
        notifier = app.extensions[EXTENSION_KEY]["email"]
        with pytest.raises(PermanentDeliveryError) as refused:
            notifier.send(_alert(), _attempt())
        with pytest.raises(PermanentDeliveryError) as probed:
            notifier.probe()
    for error in (refused.value, probed.value):
        assert "MOTORPOOL_SMTP_PASSWORD" in str(error) and "refused the login" in str(error)
        assert "wrong-Pa55word-xyz" not in str(error)
    assert "wrong-Pa55word-xyz" not in caplog.text
    assert smtp.received == []


def test_server_down_is_retryable(make_app, ca):
    port = free_port()  # nothing listens there
    app = make_app(MOTORPOOL_NOTIFIERS="email", MOTORPOOL_SMTP_HOST="127.0.0.1", MOTORPOOL_SMTP_PORT=port,
                   MOTORPOOL_SMTP_SECURITY="none", MOTORPOOL_SMTP_FROM="motorpool@fleet.example")
    with app.app_context():
        ManagerFactory()
        notifier = app.extensions[EXTENSION_KEY]["email"]
        with pytest.raises(RetryableDeliveryError, match=f"could not reach the SMTP server 127.0.0.1:{port}"):
            notifier.send(_alert(), _attempt())
        with pytest.raises(RetryableDeliveryError):
            notifier.probe()


@pytest.mark.parametrize("smtp", ["none"], indirect=True)
def test_recipient_answers_decide_retry_or_dead_letter(make_app, smtp, ca):
    app = _email_app(make_app, smtp, ca)
    with app.app_context():
        notifier = app.extensions[EXTENSION_KEY]["email"]
        with pytest.raises(RetryableDeliveryError, match="452"):
            notifier.send(_alert(roles=[], recipients=["full@example.com"]), _attempt())
        with pytest.raises(PermanentDeliveryError, match="550"):
            notifier.send(_alert(roles=[], recipients=["nobody@example.com"]), _attempt())
        # One bad address among good ones: the others get it, the delivery is done.
        notifier.send(_alert(roles=[], recipients=["nobody@example.com", "ok@example.com"]), _attempt())
    assert [r.recipients for r in smtp.received] == [["ok@example.com"]]


@pytest.mark.parametrize("smtp", ["tls"], indirect=True)
def test_an_untrusted_certificate_is_permanent_and_names_the_ca_setting(make_app, smtp, ca, tmp_path):
    other = trustme.CA()
    path = tmp_path / "other.pem"
    other.cert_pem.write_to_path(str(path))
    app = _email_app(make_app, smtp, ca, MOTORPOOL_SMTP_CA_FILE=str(path))
    with app.app_context():
        ManagerFactory()
        with pytest.raises(PermanentDeliveryError, match="MOTORPOOL_SMTP_CA_FILE"):
            app.extensions[EXTENSION_KEY]["email"].send(_alert(), _attempt())


def test_nobody_to_email_is_permanent(make_app, smtp, ca):
    app = _email_app(make_app, smtp, ca)
    with app.app_context():
        with pytest.raises(PermanentDeliveryError, match="nobody to email"):
            app.extensions[EXTENSION_KEY]["email"].send(_alert(roles=["manager"]), _attempt())
    assert smtp.received == []


def test_the_plugins_page_never_shows_the_smtp_password(make_app, smtp, ca):
    app = _email_app(make_app, smtp, ca)
    with app.app_context():
        admin = AdminFactory()
        client = app.test_client()
        client.post("/auth/login", data={"email": admin.email, "password": "correct horse battery"})
        page = client.get("/admin/plugins")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert PASSWORD not in text
    assert "MOTORPOOL_SMTP_PASSWORD" in text and "set, hidden" in text
    assert "MOTORPOOL_SMTP_HOST" in text and "127.0.0.1" in text
