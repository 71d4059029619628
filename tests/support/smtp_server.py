"""A real SMTP server on loopback (aiosmtpd) that signs users in and keeps what it receives."""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

USERNAME = "motorpool"
PASSWORD = "s3cret-Pa55word"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Received:
    sender: str
    recipients: list[str]
    message: EmailMessage


@dataclass
class Handler:
    received: list[Received] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)  # (mechanism, login)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        message = message_from_bytes(envelope.original_content, policy=policy.default)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address.startswith("full@"):
            return "452 4.2.2 Mailbox full, try later"
        if address.startswith("nobody@"):
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        if isinstance(auth_data, LoginPassword):
            login, password = auth_data.login.decode(), auth_data.password.decode()
            self.logins.append((mechanism, login))
            # handled=False: aiosmtpd answers (235 or 535) itself.
            return AuthResult(success=login == USERNAME and password == PASSWORD, handled=False)
        return AuthResult(success=False, handled=False)


class _ImplicitTLSController(Controller):
    """aiosmtpd counts only STARTTLS as TLS; on an implicit-TLS socket the session is encrypted
    from the first byte, so AUTH is offered there too."""

    def factory(self):
        server = super().factory()
        server._auth_require_tls = False
        return server


class SMTPServer:
    """``security`` as Motorpool names it: "starttls", "tls" or "none" (no TLS, no login)."""

    def __init__(self, security: str, tls_context: ssl.SSLContext | None = None) -> None:
        self.security = security
        self.port = free_port()
        self.handler = Handler()
        kwargs: dict = {}
        if security == "starttls":
            kwargs = dict(tls_context=tls_context, require_starttls=True, auth_required=True,
                          authenticator=self.handler.authenticate)
        elif security == "tls":
            kwargs = dict(ssl_context=tls_context, auth_required=True,
                          authenticator=self.handler.authenticate)
        controller = _ImplicitTLSController if security == "tls" else Controller
        self.controller = controller(self.handler, hostname="127.0.0.1", port=self.port, **kwargs)

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def start(self) -> SMTPServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()
