"""SMS for the official on duty (« astreinte »): a short French text, GSM-7 only, through a provider.

Who may be texted is narrow on purpose: only severities from `min_severity` (critical by default) and
only the recipient groups in `groups` (astreinte); rules/ routing asks `admits()` before queueing, and
`send` checks again. At most `max_per_hour` texts per number and per hour of the daemon clock; beyond
that the delivery is abandoned with its reason (the alert still goes out on the other channels).

The text fits one SMS (160 GSM-7 characters; accents outside GSM-7 are transliterated, emoji dropped)
or `max_parts` concatenated parts (153 each). Untrusted text (titles made from hashtags, crisis reasons)
has URLs, addresses and domain names broken with a space so phones do not make them tappable.

Providers: OVHcloud (POST /sms/{serviceName}/jobs, signed as the OVHcloud API documents; a retry first
looks the job up by its tag in /outgoing so a resend after a crash is not texted twice) and a generic
HTTP JSON provider (with an Idempotency-Key header).
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
import unicodedata
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, Protocol
from urllib.parse import urlencode

from pydantic import Field, model_validator

from alerts.channels import ChannelPlugin, PermanentError, TransientError
from alerts.http import Answer, HttpClient, check, dumps
from alerts.render import CRISIS_FR, Notification, local_time, one_line, safe_url
from listener.settings_base import StrictModel, secret_from_env
from listener.timeutil import parse_time, to_iso

if TYPE_CHECKING:
    from listener.store import Store

Severity = Literal["info", "warning", "critical"]
RANK = {"info": 0, "warning": 1, "critical": 2}

GSM7_BASIC = set("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                 "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
GSM7_EXTENDED = set("^{}\\[~]|€")
_TRANSLIT = {"ç": "c", "œ": "oe", "Œ": "OE", "æ": "ae", "’": "'", "‘": "'", "«": '"', "»": '"', "“": '"',
             "”": '"', "–": "-", "—": "-", "…": "...", "\u202f": " ", "\xa0": " ", "→": "->", "·": "-",
             "°": "o", "•": "-", "×": "x"}
_DEFANG = re.compile(r"(?i)(://|www\.|(?<=\w)@(?=\w)|\.(?=[a-z]{2,}\b))")
_QUOTES = [(re.compile(r"«\s*"), '"'), (re.compile(r"\s*»"), '"')]
SINGLE, PART = 160, 153


def to_gsm7(text: str) -> str:
    """French text in the GSM-7 alphabet: é è à ù stay, other accents lose their mark, emoji go."""
    for pattern, replacement in _QUOTES:
        text = pattern.sub(replacement, text)
    out = []
    for char in text:
        if char in GSM7_BASIC or char in GSM7_EXTENDED:
            out.append(char)
        elif char in _TRANSLIT:
            out.append(_TRANSLIT[char])
        else:
            base = "".join(c for c in unicodedata.normalize("NFD", char) if not unicodedata.combining(c))
            out.append("".join(c for c in base if c in GSM7_BASIC or c in GSM7_EXTENDED))
    return re.sub(r" {2,}", " ", "".join(out))


def gsm_length(text: str) -> int:
    """Septets used: the extension characters (€ [ ] { } …) take two."""
    return sum(2 if char in GSM7_EXTENDED else 1 for char in text)


def defang(text: Any, limit: int | None = None) -> str:
    """Untrusted text for an SMS: URLs, www., addresses and domain names broken by a space."""
    def space(match: re.Match[str]) -> str:
        found = match.group(1)
        return {"://": ": //", "@": "@ ", ".": ". "}.get(found, found[:-1] + " .")

    return _DEFANG.sub(space, one_line(text, limit))


def _fit(prefix: str, middle: str, suffix: str, budget: int) -> str:
    """prefix + middle + suffix in `budget` septets, shortening the middle (with "...") if needed."""
    prefix, middle, suffix = to_gsm7(prefix), to_gsm7(middle), to_gsm7(suffix)
    room = budget - gsm_length(prefix) - gsm_length(suffix)
    if gsm_length(middle) > room:
        cut = middle
        while cut and gsm_length(cut) + 3 > room:
            cut = cut[:-1]
        middle = cut.rstrip() + "..." if room >= 3 else ""
    return re.sub(r" {2,}", " ", prefix + middle + suffix).strip()


def split(text: str, max_parts: int) -> list[str]:
    """Parts of at most 160 septets (one SMS), or 153 each with a "(1/2) " mark when split by us."""
    if gsm_length(text) <= SINGLE:
        return [text]
    parts: list[str] = []
    current = ""
    for word in text.split(" "):
        candidate = f"{current} {word}".strip()
        if gsm_length(candidate) > PART - 6 and current:
            parts.append(current)
            current = word
        else:
            current = candidate
    if current:
        parts.append(current)
    parts = parts[:max_parts]
    return [f"({i}/{len(parts)}) {part}" for i, part in enumerate(parts, 1)] if len(parts) > 1 else parts


def sms_text(n: Notification, budget: int) -> str:
    """The French SMS for one notification, within `budget` septets."""
    link = f" {n.ui_url}" if safe_url(n.ui_url) else ""
    at = n.at_local()
    if n.kind == "crisis":
        to = str(n.payload.get("to", ""))
        head = f"VIGIE MODE DE CRISE {at} : {CRISIS_FR.get(str(n.payload.get('from')), 'normal')} -> " \
               f"{CRISIS_FR.get(to, defang(to, 20))}. "
        return _fit(head, defang(n.payload.get("reason") or "", 300), link, budget)
    if not n.alerts:
        return _fit(f"VIGIE {at} : ", defang(n.headline(), 200), link, budget)
    first = n.alerts[0]
    label = {"alert_update": " MISE A JOUR", "escalation": " ESCALADE"}.get(n.kind, "")
    facts = f" : {first.measure()}" if first.measure() else ""
    if first.window():
        facts += f" ({first.window()})"
    more = f" +{len(n.alerts) - 1} alerte(s)" if len(n.alerts) > 1 else ""
    suffix = f"{facts}.{more} Alerte no {first.id}.{link}"
    return _fit(f"VIGIE {first.severity_fr}{label} {at} ", defang(first.title, 200), suffix, budget)


# -- providers ------------------------------------------------------------------------------------


class SmsProvider(Protocol):
    name: str
    # True when the provider sends a long text as one concatenated SMS (we then send it whole).
    concatenates: bool

    async def send(self, number: str, text: str, *, key: str) -> str: ...

    async def already_sent(self, number: str, key: str) -> str | None: ...

    async def close(self) -> None: ...


class OvhSettings(StrictModel):
    # API endpoint: Europe "https://eu.api.ovh.com/1.0", Canada "https://ca.api.ovh.com/1.0".
    endpoint: str = "https://eu.api.ovh.com/1.0"
    # SMS account ("sms-ab12345-1", see the OVHcloud manager).
    service_name: str = ""
    # Registered sender (name or number); empty: a short number that allows replies.
    sender: str = ""
    # Environment variables of the API credentials (createToken with GET/POST on /sms/*).
    application_key_env: str = "VIGIE_OVH_APPLICATION_KEY"
    application_secret_env: str = "VIGIE_OVH_APPLICATION_SECRET"
    consumer_key_env: str = "VIGIE_OVH_CONSUMER_KEY"


class HttpSmsSettings(StrictModel):
    # URL receiving {"to", "text", "sender", "idempotency_key"} as JSON (POST).
    url: str = ""
    # Environment variable holding a bearer token ("" for none).
    token_env: str = "VIGIE_SMS_TOKEN"
    sender: str = "Vigie"
    # The gateway joins long texts itself (otherwise Vigie sends numbered parts).
    concatenates: bool = False


def ovh_tag(key: str) -> str:
    """The job's tag: derived from the outbox key, so a retry can find the job it may already have sent."""
    return "vigie" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:15]


class OvhProvider:
    """OVHcloud SMS API: POST /sms/{serviceName}/jobs, each call signed with
    "$1$" + SHA1(secret+consumer+METHOD+URL+BODY+TIMESTAMP), the timestamp taken from GET /auth/time."""

    name = "ovh"
    concatenates = True

    def __init__(self, settings: OvhSettings, http: HttpClient) -> None:
        self.settings = settings
        self.http = http
        self._delta: int | None = None

    def _credentials(self) -> tuple[str, str, str]:
        s = self.settings
        values = (secret_from_env(s.application_key_env), secret_from_env(s.application_secret_env),
                  secret_from_env(s.consumer_key_env))
        if not all(values) or not s.service_name:
            raise PermanentError("OVHcloud SMS : identifiants ou compte SMS manquants (service_name, "
                                 f"{s.application_key_env}, {s.application_secret_env}, {s.consumer_key_env})")
        return values  # type: ignore[return-value]

    async def _timestamp(self) -> str:
        if self._delta is None:
            answer = await self.http.request("GET", f"{self.settings.endpoint.rstrip('/')}/auth/time", who="OVHcloud")
            check(answer, "OVHcloud")
            try:
                self._delta = int(answer.text.strip()) - int(time.time())
            except ValueError as exc:
                raise TransientError("OVHcloud : heure du serveur illisible") from exc
        return str(int(time.time()) + self._delta)

    async def call(self, method: str, path: str, body: dict[str, Any] | None = None,
                   params: dict[str, str] | None = None) -> Any:
        app_key, secret, consumer = self._credentials()
        url = f"{self.settings.endpoint.rstrip('/')}{path}" + (f"?{urlencode(params)}" if params else "")
        data = dumps(body).decode("utf-8") if body is not None else ""
        now = await self._timestamp()
        signature = hashlib.sha1("+".join([secret, consumer, method, url, data, now]).encode("utf-8")).hexdigest()
        headers = {"X-Ovh-Application": app_key, "X-Ovh-Consumer": consumer, "X-Ovh-Timestamp": now,
                   "X-Ovh-Signature": f"$1${signature}", "Content-Type": "application/json"}
        answer = await self.http.request(method, url, who="OVHcloud SMS", body=data.encode("utf-8") or None,
                                         headers=headers)
        return self._check(answer)

    def _check(self, answer: Answer) -> Any:
        document = answer.json()
        message = str(document.get("message", "")) if isinstance(document, dict) else ""
        code = str(document.get("errorCode", "")) if isinstance(document, dict) else ""
        if answer.status == 400 and "time" in message.lower():
            self._delta = None  # clock drift: take the server's time again
            raise TransientError(f"OVHcloud SMS : horodatage refusé ({message[:100]}), nouvel essai")
        if answer.status == 403 and code in ("INVALID_CREDENTIAL", "NOT_CREDENTIAL", "INVALID_KEY",
                                             "NOT_GRANTED_CALL"):
            raise PermanentError(f"OVHcloud SMS : identifiants API refusés ({code} : {message[:150]})")
        check(answer, "OVHcloud SMS", message or None)
        return document

    async def send(self, number: str, text: str, *, key: str) -> str:
        body: dict[str, Any] = {"message": text, "receivers": [number], "charset": "UTF-8", "coding": "7bit",
                                "class": "phoneDisplay", "priority": "high", "noStopClause": True,
                                "tag": ovh_tag(key), "validityPeriod": 120}
        if self.settings.sender:
            body["sender"] = self.settings.sender
        else:
            body["senderForResponse"] = True
        report = await self.call("POST", f"/sms/{self.settings.service_name}/jobs", body)
        if not isinstance(report, dict):
            raise TransientError("OVHcloud SMS : réponse illisible")
        if number in (report.get("invalidReceivers") or []) or not report.get("ids"):
            raise PermanentError(f"OVHcloud SMS : numéro refusé ({number})")
        return f"ovh:{','.join(str(i) for i in report['ids'])}"

    async def already_sent(self, number: str, key: str) -> str | None:
        found = await self.call("GET", f"/sms/{self.settings.service_name}/outgoing",
                                params={"receiver": number, "tag": ovh_tag(key)})
        return f"ovh:{','.join(str(i) for i in found)}" if isinstance(found, list) and found else None

    async def close(self) -> None:
        return None


class HttpSmsProvider:
    """A generic SMS gateway taking JSON over HTTP: one POST per part, Idempotency-Key per part."""

    name = "http"

    def __init__(self, settings: HttpSmsSettings, http: HttpClient) -> None:
        self.settings = settings
        self.http = http
        self.concatenates = settings.concatenates

    async def send(self, number: str, text: str, *, key: str) -> str:
        if not safe_url(self.settings.url):
            raise PermanentError("SMS : adresse de la passerelle non configurée ([alerts.sms.http] url)")
        headers = {"Content-Type": "application/json", "Idempotency-Key": key}
        token = secret_from_env(self.settings.token_env)
        if token:
            headers["Authorization"] = f"Bearer {token}"
        body = {"to": number, "text": text, "sender": self.settings.sender, "idempotency_key": key}
        answer = check(await self.http.request("POST", self.settings.url, who="passerelle SMS", body=dumps(body),
                                               headers=headers), "passerelle SMS")
        document = answer.json()
        return str(document.get("id")) if isinstance(document, dict) and document.get("id") else f"HTTP {answer.status}"

    async def already_sent(self, number: str, key: str) -> str | None:
        return None  # the gateway drops repeats by Idempotency-Key

    async def close(self) -> None:
        return None


# -- channel --------------------------------------------------------------------------------------


class SmsSettings(StrictModel):
    enabled: bool = True
    # "ovh" (OVHcloud SMS API) or "http" (generic JSON gateway).
    provider: Literal["ovh", "http"] = "ovh"
    # Lowest severity texted (crisis mode counts as critical when it goes to « crise »).
    min_severity: Severity = "critical"
    # Recipient groups allowed to be texted.
    groups: list[str] = Field(default_factory=lambda: ["astreinte"])
    # Texts per number and per hour at most (the others are abandoned with their reason).
    max_per_hour: int = Field(default=6, ge=1)
    # SMS parts per message: 1 keeps every text within 160 GSM-7 characters.
    max_parts: int = Field(default=1, ge=1, le=6)
    # Seconds before a call is abandoned.
    timeout: float = Field(default=15.0, gt=0)
    ovh: OvhSettings = Field(default_factory=OvhSettings)
    http: HttpSmsSettings = Field(default_factory=HttpSmsSettings)

    @model_validator(mode="after")
    def _groups_named(self) -> SmsSettings:
        if not self.groups:
            raise ValueError("groups ne peut pas être vide : nommer les groupes qui reçoivent des SMS")
        return self

    def admits(self, severity: str, group: str | None) -> bool:
        """Whether an alert of this severity for this recipient group may be texted."""
        return RANK.get(severity, 0) >= RANK[self.min_severity] and group in self.groups

    def problems(self) -> list[str]:
        """What is missing before this channel can deliver (French, for `vigie alerts channels`)."""
        if self.provider == "http":
            return [] if safe_url(self.http.url) else ["adresse de la passerelle ([alerts.sms.http] url)"]
        o = self.ovh
        found = [] if o.service_name else ["compte SMS ([alerts.sms.ovh] service_name)"]
        return found + [f"identifiant absent ({env})" for env in (o.application_key_env, o.application_secret_env,
                                                                   o.consumer_key_env) if not secret_from_env(env)]

    @property
    def budget(self) -> int:
        return SINGLE if self.max_parts == 1 else PART * self.max_parts


class SmsChannel:
    name = "sms"

    def __init__(self, settings: SmsSettings, store: Store, session=None) -> None:
        self.settings = settings
        self.store = store
        self.http = HttpClient(session, timeout=settings.timeout)
        self.provider: SmsProvider = (OvhProvider(settings.ovh, self.http) if settings.provider == "ovh"
                                      else HttpSmsProvider(settings.http, self.http))
        self._locks: dict[str, asyncio.Lock] = {}
        self._texted: dict[str, dict[int, datetime]] = {}

    def sent_last_hour(self, number: str, at: str) -> int:
        """Texts to `number` about events of the hour before `at` (daemon clock): the ones recorded as
        sent, and the ones this process just sent whose row is not marked yet."""
        end = parse_time(at)
        since = end - timedelta(hours=1)
        ids = {row[0] for row in self.store.conn.execute(
            "SELECT id FROM outbox WHERE channel = 'sms' AND target = ? AND state = 'sent' AND created_at > ? "
            "AND created_at <= ?", [number, to_iso(since), to_iso(end)])}
        ids |= {i for i, when in self._texted.get(number, {}).items() if since < when <= end}
        return len(ids)

    async def send(self, n: Notification) -> str | None:
        s = self.settings
        # Routing checked the severity it knew; a row about alerts is checked again against theirs.
        severity = n.severity if n.alerts else s.min_severity
        if n.kind != "test" and not s.admits(severity, n.row.recipient_group):  # a test is asked for by hand
            raise PermanentError(f"SMS non envoyé : réservé aux alertes {s.min_severity} des groupes "
                                 f"{', '.join(s.groups)} (ici {severity}, groupe {n.row.recipient_group or '—'})")
        number = n.row.target
        lock = self._locks.setdefault(number, asyncio.Lock())
        async with lock:
            if n.row.attempts > 1:  # a retry, or a resend after a crash: was it texted already?
                known = await self.provider.already_sent(number, n.row.idempotency_key)
                if known:
                    return known
            at = n.row.created_at
            if self.sent_last_hour(number, at) >= s.max_per_hour:
                raise PermanentError(f"SMS non envoyé : plafond de {s.max_per_hour} SMS par heure atteint pour "
                                     f"{number} à {local_time(at, n.tz)} (l'alerte part sur les autres canaux)")
            text = sms_text(n, s.budget)
            if self.provider.concatenates or gsm_length(text) <= SINGLE:
                ref = await self.provider.send(number, text, key=n.row.idempotency_key)
            else:
                ref = " ".join([await self.provider.send(number, part, key=f"{n.row.idempotency_key}#{i}")
                                for i, part in enumerate(split(text, s.max_parts), 1)])
            self._texted.setdefault(number, {})[n.row.id] = parse_time(at)
            return ref

    async def send_digest(self, digest, target: str, key: str) -> str | None:
        raise PermanentError("la synthèse du matin n'est pas envoyée par SMS")

    async def close(self) -> None:
        await self.provider.close()
        await self.http.close()


EXAMPLE = """
[alerts.sms]
enabled = true
provider = "ovh"
# Only critical alerts, only for these recipient groups, at most 6 texts per number and per hour.
min_severity = "critical"
groups = ["astreinte"]
max_per_hour = 6
max_parts = 1
[alerts.sms.ovh]
endpoint = "https://eu.api.ovh.com/1.0"
service_name = "sms-ab12345-1"
sender = ""
application_key_env = "VIGIE_OVH_APPLICATION_KEY"
application_secret_env = "VIGIE_OVH_APPLICATION_SECRET"
consumer_key_env = "VIGIE_OVH_CONSUMER_KEY"
# In the group [rules.groups.astreinte]: sms = ["+33612345678"]
"""

PLUGIN = ChannelPlugin(
    name="sms",
    description="SMS d'astreinte : texte court (160 caractères GSM-7) par OVHcloud ou une passerelle HTTP, "
                "alertes critiques seulement, plafond horaire.",
    target="numéro de mobile au format international (+33…)",
    settings=SmsSettings,
    example=EXAMPLE,
    create=lambda settings, ctx: SmsChannel(settings, ctx.store, ctx.http),
)
