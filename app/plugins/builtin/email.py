"""The email channel: SMTP (STARTTLS, implicit TLS or plain), text and HTML parts, recipients by role.

Settings (``app/config.py``, read from the environment): ``MOTORPOOL_SMTP_HOST``, ``_PORT``
(default by security: 587, 465, 25), ``_SECURITY`` (starttls | tls | none), ``_USERNAME``,
``_PASSWORD``, ``_FROM``, ``_TIMEOUT`` (seconds), ``_CA_FILE``. The password is used to sign in
and nowhere else: it is never logged and never part of an error message.

Failures the server or the network may get over (refused connection, timeout, a 4xx answer)
are retried; those that need an operator (login refused, a 5xx answer, TLS the server does
not offer or a certificate that does not verify) dead-letter at once, saying what to set.
"""

from __future__ import annotations

import html
import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate

from flask import current_app

from app.config import SMTP_SECURITY
from app.plugins import hookimpl
from app.plugins.contracts import DeliveryAttempt, Notification, PermanentDeliveryError, RetryableDeliveryError

logger = logging.getLogger(__name__)


def plain_html(text: str) -> str:
    """A simple HTML rendering of plain text: escaped, paragraphs kept, line breaks kept."""
    paragraphs = [part.strip() for part in text.replace("\r\n", "\n").split("\n\n") if part.strip()]
    inner = "\n".join("<p>" + html.escape(part).replace("\n", "<br>\n") + "</p>" for part in paragraphs)
    return f'<!doctype html>\n<html><body style="font-family: sans-serif">\n{inner}\n</body></html>\n'


class EmailNotifier:
    """Sends each notification as one message to every address ``recipients.addresses_for`` names."""

    def _settings(self) -> dict:
        config = current_app.config
        security = config["MOTORPOOL_SMTP_SECURITY"]
        return {
            "host": config.get("MOTORPOOL_SMTP_HOST"),
            "port": config.get("MOTORPOOL_SMTP_PORT") or SMTP_SECURITY[security],
            "security": security,
            "username": config.get("MOTORPOOL_SMTP_USERNAME"),
            "password": config.get("MOTORPOOL_SMTP_PASSWORD"),
            "sender": config.get("MOTORPOOL_SMTP_FROM"),
            "timeout": config["MOTORPOOL_SMTP_TIMEOUT"],
            "ca_file": config.get("MOTORPOOL_SMTP_CA_FILE"),
        }

    def message(self, notification: Notification, attempt: DeliveryAttempt, to: list[str], sender: str) -> EmailMessage:
        message = EmailMessage()
        message["Subject"] = notification.subject
        message["From"] = sender
        message["To"] = ", ".join(to)
        message["Date"] = formatdate(attempt.created_at.timestamp(), usegmt=True)
        # The same Message-ID on every retry: mail clients and archives show a resent copy once.
        domain = sender.rsplit("@", 1)[-1].strip(">") or "motorpool"
        message["Message-ID"] = f"<{attempt.delivery_id}@{domain}>"
        message["X-Motorpool-Delivery-Id"] = attempt.delivery_id
        message["X-Motorpool-Kind"] = notification.kind
        message["X-Motorpool-Severity"] = notification.severity
        if notification.category:
            message["X-Motorpool-Category"] = notification.category
        message.set_content(notification.body)
        message.add_alternative(notification.html or plain_html(notification.body), subtype="html")
        return message

    def _connect(self, settings: dict) -> smtplib.SMTP:
        """A connected, signed-in SMTP session; every failure becomes a delivery error."""
        host, port, timeout = settings["host"], settings["port"], settings["timeout"]
        if not host or not settings["sender"]:
            raise PermanentDeliveryError(
                "the email channel is not configured: set MOTORPOOL_SMTP_HOST and MOTORPOOL_SMTP_FROM"
            )
        context = ssl.create_default_context(cafile=settings["ca_file"] or None)
        where = f"{host}:{port}"
        try:
            if settings["security"] == "tls":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
            else:
                smtp = smtplib.SMTP(host, port, timeout=timeout)
            try:
                smtp.ehlo()
                if settings["security"] == "starttls":
                    smtp.starttls(context=context)
                    smtp.ehlo()
                if settings["username"]:
                    smtp.login(settings["username"], settings["password"] or "")
            except BaseException:
                smtp.close()
                raise
        except smtplib.SMTPAuthenticationError as error:
            raise PermanentDeliveryError(
                f"the SMTP server {where} refused the login of {settings['username']!r} "
                f"({error.smtp_code} {_text(error.smtp_error, settings)}); check MOTORPOOL_SMTP_USERNAME and "
                "MOTORPOOL_SMTP_PASSWORD"
            ) from None
        except smtplib.SMTPNotSupportedError as error:
            raise PermanentDeliveryError(
                f"the SMTP server {where} does not support what the settings ask ({_text(error, settings)}); "
                "check MOTORPOOL_SMTP_SECURITY (starttls, tls or none) and MOTORPOOL_SMTP_USERNAME"
            ) from None
        except ssl.SSLCertVerificationError as error:
            raise PermanentDeliveryError(
                f"the certificate of the SMTP server {where} does not verify ({error.verify_message}); "
                "check MOTORPOOL_SMTP_HOST, or set MOTORPOOL_SMTP_CA_FILE to the CA that signed it"
            ) from None
        except ssl.SSLError as error:
            raise PermanentDeliveryError(
                f"TLS with the SMTP server {where} failed ({error.reason or error}); check MOTORPOOL_SMTP_SECURITY "
                "(tls for port 465, starttls for 587) and MOTORPOOL_SMTP_PORT"
            ) from None
        except smtplib.SMTPResponseException as error:
            raise _by_code(error.smtp_code, f"the SMTP server {where} answered {error.smtp_code} "
                                            f"{_text(error.smtp_error, settings)}") from None
        except (smtplib.SMTPException, OSError) as error:
            raise RetryableDeliveryError(
                f"could not reach the SMTP server {where}: {_text(error, settings) or type(error).__name__}"
            ) from None
        return smtp

    def send(self, notification: Notification, attempt: DeliveryAttempt) -> None:
        from app.services.recipients import addresses_for

        settings = self._settings()
        to = addresses_for(notification)
        if not to:
            roles = ", ".join(notification.roles) or "admin (the operators)"
            raise PermanentDeliveryError(
                f"nobody to email: no active user has the role {roles} and no address was given"
            )
        message = self.message(notification, attempt, to, settings["sender"] or "")
        smtp = self._connect(settings)
        where = f"{settings['host']}:{settings['port']}"
        try:
            refused = smtp.send_message(message, from_addr=settings["sender"], to_addrs=to)
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _text in error.recipients.values()]
            detail = "; ".join(f"{address}: {code} {_text(text, settings)}"
                               for address, (code, text) in error.recipients.items())
            if any(400 <= code < 500 for code in codes):
                raise RetryableDeliveryError(f"the SMTP server {where} deferred every recipient ({detail})") from None
            raise PermanentDeliveryError(f"the SMTP server {where} refused every recipient ({detail})") from None
        except smtplib.SMTPResponseException as error:
            raise _by_code(error.smtp_code, f"the SMTP server {where} answered {error.smtp_code} "
                                            f"{_text(error.smtp_error, settings)}") from None
        except (smtplib.SMTPException, OSError) as error:
            raise RetryableDeliveryError(f"sending to the SMTP server {where} failed: {_text(error, settings)}") from None
        finally:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()
        if refused:
            # The others have the message; sending again would give them a second copy.
            logger.warning("email %s: the SMTP server refused %s", attempt.delivery_id,
                           ", ".join(f"{a} ({code})" for a, (code, _t) in refused.items()))

    def probe(self) -> None:
        """Connect and sign in; raises the delivery error ``send`` would, with what to set."""
        smtp = self._connect(self._settings())
        try:
            smtp.noop()
        finally:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()


def _text(value: object, settings: dict) -> str:
    """A server's answer as text, with the password cut out should a server echo it."""
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    password = settings.get("password")
    return text.replace(password, "********") if password else text


def _by_code(code: int, message: str) -> Exception:
    if 400 <= code < 500:
        return RetryableDeliveryError(message)
    return PermanentDeliveryError(message)


@hookimpl(trylast=True)
def motorpool_notifiers():
    return {"email": EmailNotifier()}
