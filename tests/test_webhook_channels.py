"""Webhook, Slack and Teams channels against a real HTTP receiver on loopback."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from app.plugins.builtin.webhooks import parse_retry_after
from app.plugins.contracts import DeliveryAttempt, Notification, PermanentDeliveryError, RetryableDeliveryError
from app.services.notifications import EXTENSION_KEY
from tests.support.http_receiver import Answer, Receiver
from tests.support.smtp_server import free_port

SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()


@pytest.fixture
def receiver():
    server = Receiver().start()
    yield server
    server.stop()


@pytest.fixture
def hooks_app(make_app, receiver):
    def build(**overrides):
        config = dict(
            MOTORPOOL_NOTIFIERS="webhook,slack,teams",
            MOTORPOOL_WEBHOOK_URL=receiver.url("/hook"),
            MOTORPOOL_WEBHOOK_SECRET=SECRET,
            MOTORPOOL_SLACK_WEBHOOK_URL=receiver.url("/slack/T000/B000/XXXX"),
            MOTORPOOL_TEAMS_WEBHOOK_URL=receiver.url("/teams/workflow"),
            MOTORPOOL_WEBHOOK_TIMEOUT=2.0,
            # The example plugin installed for the suite names its own channel "webhook" too,
            # and an installed plugin's name wins over a built-in's.
            MOTORPOOL_DISABLED_PLUGINS="trailers",
        )
        config.update(overrides)
        return make_app(**config)
    return build


def _attempt(delivery_id: str = "dlv-7", attempt: int = 1) -> DeliveryAttempt:
    return DeliveryAttempt(delivery_id=delivery_id, channel="webhook", attempt=attempt,
                           created_at=datetime(2026, 12, 1, 8, 0, tzinfo=UTC))


ALERT = Notification(kind="alert.firing", subject="SLA compliance is critical", body="62 % within SLA <24 h>",
                     severity="critical", category="sla_compliance", dispatch_number="D-00042",
                     roles=["manager"], data={"value": 62.0})


def test_the_built_in_channels_are_registered_under_their_names(hooks_app):
    from app.plugins.builtin.webhooks import SlackNotifier, StandardWebhookNotifier, TeamsNotifier

    channels = hooks_app().extensions[EXTENSION_KEY]
    assert isinstance(channels["webhook"], StandardWebhookNotifier)
    assert isinstance(channels["slack"], SlackNotifier)
    assert isinstance(channels["teams"], TeamsNotifier)


def _send(app, channel: str, notification: Notification = ALERT, attempt: DeliveryAttempt | None = None):
    with app.app_context():
        app.extensions[EXTENSION_KEY][channel].send(notification, attempt or _attempt())


def test_the_generic_webhook_is_signed_per_standard_webhooks(hooks_app, receiver):
    _send(hooks_app(), "webhook")
    (request,) = receiver.requests
    assert request.path == "/hook"
    assert request.headers["webhook-id"] == "dlv-7"
    assert request.headers["Content-Type"] == "application/json"
    payload = Webhook(SECRET).verify(request.body, request.headers)
    assert payload["type"] == "alert.firing"
    assert payload["timestamp"] == "2026-12-01T08:00:00Z"
    assert payload["data"]["delivery_id"] == "dlv-7"
    assert payload["data"]["severity"] == "critical"
    assert payload["data"]["details"] == {"value": 62.0}
    # A tampered body or another secret does not verify.
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(request.body.replace(b"62", b"99"), request.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + base64.b64encode(b"another secret of 32 bytes.....").decode()).verify(
            request.body, request.headers)


def test_a_retry_sends_the_same_body_and_id_with_a_fresh_signature(hooks_app, receiver):
    app = hooks_app()
    _send(app, "webhook", attempt=_attempt(attempt=1))
    _send(app, "webhook", attempt=_attempt(attempt=2))
    first, second = receiver.requests
    assert first.body == second.body
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == "dlv-7"
    Webhook(SECRET).verify(second.body, second.headers)


def test_slack_gets_blocks_text_and_the_severity_colour(hooks_app, receiver):
    _send(hooks_app(), "slack")
    (request,) = receiver.requests
    assert request.path == "/slack/T000/B000/XXXX"
    payload = json.loads(request.body)
    assert payload["text"] == "[CRITICAL] SLA compliance is critical"
    assert payload["blocks"][0] == {"type": "header", "text": {"type": "plain_text", "text": "SLA compliance is critical"}}
    attachment = payload["attachments"][0]
    assert attachment["color"] == "#d92d20"
    assert attachment["blocks"][0]["text"] == {"type": "mrkdwn", "text": "62 % within SLA &lt;24 h&gt;"}
    assert "*Dispatch:* D-00042" in attachment["blocks"][1]["elements"][0]["text"]
    assert "webhook-signature" not in request.headers


def test_teams_gets_an_adaptive_card_message(hooks_app, receiver):
    receiver.answer = Answer(status=202, body=b"")
    _send(hooks_app(), "teams", Notification(kind="alert.firing", subject="Queue", body="11 waiting", severity="warning"))
    payload = json.loads(receiver.requests[0].body)
    assert payload["type"] == "message"
    (attachment,) = payload["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    assert card["body"][0]["text"] == "Queue" and card["body"][0]["color"] == "Warning"
    assert card["body"][1]["text"] == "11 waiting"
    assert {"title": "Severity", "value": "warning"} in card["body"][2]["facts"]


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503])
def test_retryable_answers_raise_retryable(hooks_app, receiver, status):
    receiver.answer = Answer(status=status, body=b"busy")
    with pytest.raises(RetryableDeliveryError, match=f"127.0.0.1 answered {status}") as raised:
        _send(hooks_app(), "webhook")
    assert raised.value.retry_after is None


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 422])
def test_other_client_errors_are_permanent(hooks_app, receiver, status):
    receiver.answer = Answer(status=status, body=b"invalid_payload")
    with pytest.raises(PermanentDeliveryError, match=f"answered {status}.*invalid_payload"):
        _send(hooks_app(), "slack")


def test_redirects_are_not_followed_and_are_permanent(hooks_app, receiver):
    receiver.answer = Answer(status=301, headers={"Location": receiver.url("/elsewhere")})
    with pytest.raises(PermanentDeliveryError, match="redirects are not followed: set MOTORPOOL_TEAMS_WEBHOOK_URL"):
        _send(hooks_app(), "teams")
    assert [r.path for r in receiver.requests] == ["/teams/workflow"]


def test_retry_after_in_seconds_and_as_a_date_is_passed_on(hooks_app, receiver):
    app = hooks_app()
    receiver.answer = Answer(status=429, headers={"Retry-After": "120"})
    with pytest.raises(RetryableDeliveryError) as raised:
        _send(app, "webhook")
    assert raised.value.retry_after == 120.0

    when = datetime.now(UTC) + timedelta(minutes=10)
    receiver.answer = Answer(status=503, headers={"Retry-After": format_datetime(when, usegmt=True)})
    with pytest.raises(RetryableDeliveryError) as raised:
        _send(app, "webhook")
    assert 590 <= raised.value.retry_after <= 600


def test_parse_retry_after():
    now = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    assert parse_retry_after("30", now) == 30.0
    assert parse_retry_after("Tue, 01 Dec 2026 08:05:00 GMT", now) == 300.0
    assert parse_retry_after("Tue, 01 Dec 2026 07:00:00 GMT", now) == 0.0  # already past
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None


def test_a_receiver_that_does_not_answer_in_time_is_retried(hooks_app, receiver):
    receiver.answer = Answer(delay=2.0)
    with pytest.raises(RetryableDeliveryError, match="did not answer within 0.5 s"):
        _send(hooks_app(MOTORPOOL_WEBHOOK_TIMEOUT=0.5), "webhook")


def test_a_receiver_that_is_down_is_retried(hooks_app):
    app = hooks_app(MOTORPOOL_WEBHOOK_URL=f"http://127.0.0.1:{free_port()}/hook")
    with pytest.raises(RetryableDeliveryError, match="could not reach 127.0.0.1"):
        _send(app, "webhook")


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_private_addresses_are_refused_when_the_option_is_on(hooks_app, receiver, host):
    url = receiver.url("/hook").replace("127.0.0.1", host)
    app = hooks_app(MOTORPOOL_WEBHOOK_URL=url, MOTORPOOL_WEBHOOK_REFUSE_PRIVATE=True)
    with pytest.raises(PermanentDeliveryError, match=r"resolves to (127\.0\.0\.1|::1), a loopback") as raised:
        _send(app, "webhook")
    assert "MOTORPOOL_WEBHOOK_REFUSE_PRIVATE" in str(raised.value)
    with app.app_context(), pytest.raises(PermanentDeliveryError, match="loopback"):
        app.extensions[EXTENSION_KEY]["webhook"].probe()
    assert receiver.requests == []


def test_loopback_is_allowed_when_the_option_is_off(hooks_app, receiver):
    app = hooks_app()
    _send(app, "webhook")
    with app.app_context():
        app.extensions[EXTENSION_KEY]["webhook"].probe()
    assert len(receiver.requests) == 1


def test_refused_address_classes():
    from app.services.webhook_urls import refused_address

    for address in ("127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "::1", "fe80::1",
                    "fc00::1", "0.0.0.0", "::ffff:127.0.0.1"):
        assert refused_address(address), address
    for address in ("93.184.216.34", "2606:4700:4700::1111"):
        assert not refused_address(address), address


def test_errors_name_the_host_never_the_url_path(hooks_app, receiver):
    receiver.answer = Answer(status=404, body=b"")
    with pytest.raises(PermanentDeliveryError) as raised:
        _send(hooks_app(), "slack")
    assert "XXXX" not in str(raised.value) and "127.0.0.1" in str(raised.value)
