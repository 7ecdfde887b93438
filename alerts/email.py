"""E-mail with aiosmtplib: multipart text + HTML in French from Jinja2 templates (alerts/templates/).

The HTML environment autoescapes everything, and untrusted text also goes through `inert`, which breaks
what mail clients would turn into links by themselves (http://, www., addresses) with a zero-width
space; the only links are the http(s) URLs we validated. The Message-ID is derived from the outbox
idempotency key, so a repeat after a crash carries the same Message-ID and mail systems can drop it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from pathlib import Path
from typing import Any, Literal

import aiosmtplib
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup, escape
from pydantic import Field

from alerts.channels import ChannelPlugin, PermanentError, TransientError
from alerts.render import CRISIS_EMOJI, CRISIS_FR, Notification, fr_num
from listener.french import fr_change, fr_percent, local_time
from listener.settings_base import StrictModel, secret_from_env
from listener.timeutil import utcnow


class EmailSettings(StrictModel):
    enabled: bool = True
    host: str = "localhost"
    port: int = Field(default=587, ge=0, le=65535)
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str = ""
    password_env: str = "VIGIE_SMTP_PASSWORD"
    from_address: str = "vigie@localhost"
    from_name: str = "Vigie"
    timeout: float = Field(default=30.0, gt=0)
    # Where "se désabonner" of the digest goes (mailto: or https:), empty: the from address.
    unsubscribe: str = ""

    def problems(self) -> list[str]:
        """What is missing before this channel can deliver (French, for `vigie alerts channels`)."""
        if self.username and not secret_from_env(self.password_env):
            return [f"mot de passe SMTP absent ({self.password_env})"]
        return []


TEMPLATES = Path(__file__).resolve().parent / "templates"
_AUTOLINK = re.compile(r"(?i)(://|www\.|(?<=\w)@|\.(?=[a-z]{2,}\b))")


def inert(text: Any) -> str:
    """Break the patterns mail clients auto-link (URLs, www., addresses, domain.tld) with U+200B."""
    return _AUTOLINK.sub(lambda m: m.group(1)[0] + "\u200b" + m.group(1)[1:], str(text if text is not None else ""))


def _html_inert(text: Any) -> Markup:
    return Markup(escape(inert(text)))


def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=lambda name: bool(name) and name.endswith(".html.j2"),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(inert=inert, html_inert=_html_inert, fr_num=fr_num, fr_percent=fr_percent,
                       fr_change=fr_change)
    env.globals.update(CRISIS_FR=CRISIS_FR, CRISIS_EMOJI=CRISIS_EMOJI, local_time=local_time)
    return env


_ENV: Environment | None = None


def render(template: str, **context: Any) -> str:
    global _ENV
    if _ENV is None:
        _ENV = environment()
    return _ENV.get_template(template).render(**context)


@dataclass
class InlineImage:
    cid: str  # without angle brackets
    data: bytes
    subtype: str = "png"


@dataclass
class Mail:
    subject: str
    text: str
    html: str
    images: list[InlineImage] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)


def message_id(key: str, from_address: str) -> str:
    domain = from_address.rpartition("@")[2] or "vigie.local"
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{domain}>"


def build_message(settings: EmailSettings, to: str, mail: Mail, *, key: str, at: datetime | None = None) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = formataddr((settings.from_name, settings.from_address))
    msg["To"] = to
    msg["Subject"] = mail.subject.replace("\n", " ").replace("\r", " ")
    msg["Date"] = format_datetime(at or utcnow())
    msg["Message-ID"] = message_id(key, settings.from_address)
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Vigie-Idempotency-Key"] = key
    for name, value in mail.headers.items():
        msg[name] = value
    msg.set_content(mail.text, subtype="plain", charset="utf-8")
    msg.add_alternative(mail.html, subtype="html", charset="utf-8")
    if mail.images:
        html_part = msg.get_payload()[1]
        for image in mail.images:
            html_part.add_related(image.data, "image", image.subtype, cid=f"<{image.cid}>",
                                  disposition="inline", filename=f"{image.cid.split('@')[0]}.{image.subtype}")
    return msg


def alert_mail(n: Notification) -> Mail:
    context = {"n": n, "alerts": n.alerts, "institution": n.institution, "headline": n.headline(),
               "held": n.held_posts() if n.kind == "held_posts" else [], "ui_url": n.ui_url}
    severity = {"critical": "[CRITIQUE]", "warning": "[Attention]", "info": "[Info]"}.get(n.severity, "")
    subject = f"Vigie {severity} {n.headline()}".strip()
    return Mail(subject=subject[:200], text=render("alert_email.txt.j2", **context),
                html=render("alert_email.html.j2", **context))


class EmailChannel:
    name = "email"

    def __init__(self, settings: EmailSettings) -> None:
        self.settings = settings

    async def send(self, n: Notification) -> str | None:
        if n.kind == "digest":
            raise PermanentError("la synthèse est envoyée par le module digest")
        return await self.send_mail(n.row.target, alert_mail(n), key=n.row.idempotency_key)

    async def send_digest(self, digest, target: str, key: str) -> str:
        from alerts.digest import render_mail

        unsubscribe = self.settings.unsubscribe or f"mailto:{self.settings.from_address}?subject=desabonnement"
        return await self.send_mail(target, render_mail(digest, unsubscribe=unsubscribe), key=key)

    async def send_mail(self, to: str, mail: Mail, *, key: str) -> str:
        if "@" not in to or any(c in to for c in "\r\n<>,;"):
            raise PermanentError(f"adresse invalide : {to[:80]}")
        msg = build_message(self.settings, to, mail, key=key)
        s = self.settings
        password = secret_from_env(s.password_env) if s.username else None
        try:
            await aiosmtplib.send(
                msg, hostname=s.host, port=s.port, username=s.username or None, password=password,
                use_tls=s.security == "tls", start_tls=s.security == "starttls",
                timeout=s.timeout,
            )
        except aiosmtplib.SMTPAuthenticationError as exc:
            raise PermanentError(f"SMTP : authentification refusée ({exc.code})") from exc
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            if all(500 <= c < 600 for c in codes):
                raise PermanentError(f"SMTP : destinataire refusé ({codes})") from exc
            raise TransientError(f"SMTP : destinataire refusé temporairement ({codes})") from exc
        except aiosmtplib.SMTPResponseException as exc:
            if 500 <= exc.code < 600:
                raise PermanentError(f"SMTP {exc.code} : {exc.message[:200]}") from exc
            raise TransientError(f"SMTP {exc.code} : {exc.message[:200]}") from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise TransientError(f"SMTP injoignable : {type(exc).__name__} {exc}") from exc
        return msg["Message-ID"]

    async def close(self) -> None:
        return None


PLUGIN = ChannelPlugin(
    name="email",
    description="Courriel : texte et HTML en français (SMTP), synthèse du matin avec graphiques.",
    target="adresse e-mail",
    settings=EmailSettings,
    example="""
[alerts.email]
enabled = true
host = "smtp.mairie.example"
port = 587
security = "starttls"
username = "vigie"
# Environment variable holding the SMTP password.
password_env = "VIGIE_SMTP_PASSWORD"
from_address = "vigie@mairie.example"
# In a recipient group: email = ["cellule@mairie.example"]
""",
    create=lambda settings, ctx: EmailChannel(settings),
)
