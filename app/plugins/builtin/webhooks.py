"""Webhook channels: generic JSON signed per Standard Webhooks 1.0, Slack, and Microsoft Teams.

Settings (``app/config.py``): ``MOTORPOOL_WEBHOOK_URL`` and ``MOTORPOOL_WEBHOOK_SECRET``
(``whsec_…``) for ``webhook``; ``MOTORPOOL_SLACK_WEBHOOK_URL`` for ``slack``;
``MOTORPOOL_TEAMS_WEBHOOK_URL`` for ``teams``; ``MOTORPOOL_WEBHOOK_TIMEOUT`` (seconds) and
``MOTORPOOL_WEBHOOK_REFUSE_PRIVATE`` for all three.

Answers: 2xx is delivered; 408, 429, 5xx, timeouts and connection errors are retried (with
the receiver's ``Retry-After`` when it sends one); any other answer, redirects included
(they are not followed), dead-letters at once. Error messages name the receiver's host,
never its full URL: Slack and Teams URLs carry their credential in the path.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from abc import ABC, abstractmethod
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from flask import current_app
from standardwebhooks.webhooks import Webhook

from app.plugins import hookimpl
from app.plugins.contracts import DeliveryAttempt, Notification, PermanentDeliveryError, RetryableDeliveryError
from app.services.webhook_urls import private_address_of

logger = logging.getLogger(__name__)

USER_AGENT = "Motorpool-Webhooks/1"
RETRY_STATUSES = frozenset({408, 429})
#: Slack attachment colours and Adaptive Card text colours by severity.
SLACK_COLOURS = {"info": "#2e90fa", "warning": "#f79009", "critical": "#d92d20"}
TEAMS_COLOURS = {"info": "Accent", "warning": "Warning", "critical": "Attention"}


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date; None if absent or unreadable."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def event_payload(notification: Notification, attempt: DeliveryAttempt) -> dict[str, Any]:
    """The generic channel's JSON: Standard Webhooks' ``type``/``timestamp``/``data`` envelope.

    Identical on every retry (the timestamp is when the notification was made), so a
    receiver that stores it by ``webhook-id`` keeps one copy.
    """
    return {
        "type": notification.kind,
        "timestamp": attempt.created_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "data": {
            "delivery_id": attempt.delivery_id,
            "subject": notification.subject,
            "body": notification.body,
            "severity": notification.severity,
            "category": notification.category,
            "dispatch_number": notification.dispatch_number,
            "roles": list(notification.roles),
            "recipients": list(notification.recipients),
            "details": dict(notification.data),
        },
    }


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _facts(notification: Notification) -> list[tuple[str, str]]:
    facts = [("Severity", notification.severity)]
    if notification.category:
        facts.append(("Category", notification.category))
    if notification.dispatch_number:
        facts.append(("Dispatch", notification.dispatch_number))
    return facts


def slack_payload(notification: Notification, attempt: DeliveryAttempt) -> dict[str, Any]:
    """A Slack incoming-webhook message: header block, the body in a coloured attachment."""
    subject = _slack_escape(notification.subject)
    context = " · ".join(f"*{title}:* {_slack_escape(value)}" for title, value in _facts(notification))
    return {
        # The text is what notifications and clients without blocks show.
        "text": f"[{notification.severity.upper()}] {subject}",
        "blocks": [{"type": "header", "text": {"type": "plain_text", "text": notification.subject[:150]}}],
        "attachments": [{
            "color": SLACK_COLOURS.get(notification.severity, SLACK_COLOURS["info"]),
            "blocks": [
                {"type": "section", "text": {"type": "mrkdwn", "text": _slack_escape(notification.body)[:3000] or " "}},
                {"type": "context", "elements": [{"type": "mrkdwn", "text": context}]},
            ],
        }],
    }


def teams_payload(notification: Notification, attempt: DeliveryAttempt) -> dict[str, Any]:
    """A message with one Adaptive Card, the form Teams incoming webhooks and Workflows accept."""
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [
            {"type": "TextBlock", "text": notification.subject, "weight": "Bolder", "size": "Medium", "wrap": True,
             "color": TEAMS_COLOURS.get(notification.severity, "Default")},
            {"type": "TextBlock", "text": notification.body, "wrap": True},
            {"type": "FactSet", "facts": [{"title": title, "value": value} for title, value in _facts(notification)]},
        ],
    }
    return {
        "type": "message",
        "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}],
    }


class HttpChannel(ABC):
    """POSTs JSON to one URL; subclasses say which URL and what JSON."""

    name = ""
    url_setting = ""

    def __init__(self) -> None:
        self._client: httpx.Client | None = None
        self._client_lock = threading.Lock()

    @abstractmethod
    def payload(self, notification: Notification, attempt: DeliveryAttempt) -> dict[str, Any]:
        """The JSON body for this channel's receiver."""

    def headers(self, body: str, attempt: DeliveryAttempt) -> dict[str, str]:
        return {}

    def url(self) -> str:
        url = current_app.config.get(self.url_setting)
        if not url:
            raise PermanentDeliveryError(f"the {self.name} channel is not configured: set {self.url_setting}")
        return str(url)

    def client(self) -> httpx.Client:
        # One client per channel: kept-alive connections make a backlog go out quickly.
        with self._client_lock:
            if self._client is None:
                timeout = current_app.config["MOTORPOOL_WEBHOOK_TIMEOUT"]
                self._client = httpx.Client(timeout=timeout, follow_redirects=False,
                                            headers={"User-Agent": USER_AGENT})
            return self._client

    def _check_address(self, url: str) -> None:
        if not current_app.config.get("MOTORPOOL_WEBHOOK_REFUSE_PRIVATE"):
            return
        host = urlsplit(url).hostname
        try:
            address = private_address_of(url)
        except OSError as error:
            raise RetryableDeliveryError(f"{self.name}: could not resolve {host}: {error}") from None
        if address is not None:
            raise PermanentDeliveryError(
                f"{self.name}: {host} resolves to {address}, a loopback, private or link-local address, and "
                "MOTORPOOL_WEBHOOK_REFUSE_PRIVATE is on; use a public address or turn the option off"
            )

    def post(self, body: str, headers: dict[str, str], url: str | None = None) -> httpx.Response:
        url = url or self.url()
        host = urlsplit(url).hostname
        self._check_address(url)
        try:
            response = self.client().post(
                url, content=body.encode("utf-8"), headers={"Content-Type": "application/json", **headers}
            )
        except httpx.TimeoutException:
            raise RetryableDeliveryError(
                f"{self.name}: {host} did not answer within {current_app.config['MOTORPOOL_WEBHOOK_TIMEOUT']:g} s"
            ) from None
        except httpx.HTTPError as error:
            raise RetryableDeliveryError(f"{self.name}: could not reach {host}: {type(error).__name__}: {error}") from None
        status = response.status_code
        if 200 <= status < 300:
            return response
        answer = f"{self.name}: {host} answered {status} {response.reason_phrase}".rstrip()
        snippet = response.text[:200].strip()
        if snippet:
            answer += f": {snippet}"
        if status in RETRY_STATUSES or status >= 500:
            raise RetryableDeliveryError(answer, retry_after=parse_retry_after(response.headers.get("Retry-After")))
        if 300 <= status < 400:
            raise PermanentDeliveryError(
                f"{answer}; redirects are not followed: set {self.url_setting or 'the URL'} to the address it "
                "redirects to"
            )
        raise PermanentDeliveryError(answer)

    def send(self, notification: Notification, attempt: DeliveryAttempt) -> None:
        body = json.dumps(self.payload(notification, attempt), ensure_ascii=False, separators=(",", ":"))
        self.post(body, self.headers(body, attempt))

    def probe(self) -> None:
        """Check the URL is allowed and its host resolves; sends nothing (a test message would be noise)."""
        url = self.url()
        self._check_address(url)
        host = urlsplit(url).hostname or ""
        try:
            socket.getaddrinfo(host, None)
        except OSError as error:
            raise RetryableDeliveryError(f"{self.name}: could not resolve {host}: {error}") from None


class StandardWebhookNotifier(HttpChannel):
    name = "webhook"
    url_setting = "MOTORPOOL_WEBHOOK_URL"

    def payload(self, notification: Notification, attempt: DeliveryAttempt) -> dict[str, Any]:
        return event_payload(notification, attempt)

    def headers(self, body: str, attempt: DeliveryAttempt) -> dict[str, str]:
        secret = current_app.config.get("MOTORPOOL_WEBHOOK_SECRET")
        if not secret:
            raise PermanentDeliveryError("the webhook channel is not configured: set MOTORPOOL_WEBHOOK_SECRET")
        return signature_headers(str(secret), attempt.delivery_id, body)


def signature_headers(secret: str, delivery_id: str, body: str) -> dict[str, str]:
    """Standard Webhooks 1.0 headers for ``body``: the delivery's id, now, and the signature.

    Signed now, not when the notification was made: receivers refuse old timestamps, and a
    retry hours later must still verify.
    """
    now = datetime.now(UTC).replace(microsecond=0)
    return {
        "webhook-id": delivery_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret.strip()).sign(delivery_id, now, body),
    }


class SlackNotifier(HttpChannel):
    name = "slack"
    url_setting = "MOTORPOOL_SLACK_WEBHOOK_URL"

    def payload(self, notification: Notification, attempt: DeliveryAttempt) -> dict[str, Any]:
        return slack_payload(notification, attempt)


class TeamsNotifier(HttpChannel):
    name = "teams"
    url_setting = "MOTORPOOL_TEAMS_WEBHOOK_URL"

    def payload(self, notification: Notification, attempt: DeliveryAttempt) -> dict[str, Any]:
        return teams_payload(notification, attempt)


@hookimpl(trylast=True)
def motorpool_notifiers():
    return {"webhook": StandardWebhookNotifier(), "slack": SlackNotifier(), "teams": TeamsNotifier()}
