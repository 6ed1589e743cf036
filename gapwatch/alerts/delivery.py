"""Handing one email to the SMTP server, with a timeout, STARTTLS and login where configured."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate

from gapwatch.alerts.outbox import Claim
from gapwatch.alerts.settings import AlertSettings


def compose(claim: Claim, settings: AlertSettings) -> EmailMessage:
    """Build the email of `claim`: a plain-text part and an HTML alternative."""
    message = EmailMessage()
    message["Subject"] = claim.subject
    message["From"] = settings.mail_from
    message["To"] = ", ".join(claim.recipients)
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = claim.message_id
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies, please
    message["X-Gapwatch-Digest"] = f"{claim.agency} {claim.day.isoformat()} {claim.kind}"
    message.set_content(claim.text)
    message.add_alternative(claim.html, subtype="html")
    return message


def deliver(message: EmailMessage, settings: AlertSettings) -> dict:
    """Send `message`; return the recipients the server refused (raises if it refused them all)."""
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout) as smtp:
        if settings.smtp_starttls:
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password or "")
        return smtp.send_message(message)
