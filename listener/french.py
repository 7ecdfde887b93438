"""French vocabulary shared by every area: the words for states and labels shown to people, numbers,
percentages and times written the French way, and the translation of validation errors.

Floor 0 (imports nothing of Vigie's above listener/timeutil): the CLI, the web API, the alerts, the rules
and the classifiers' reports all read their words here, so a state is never called two different things
in two places and a figure is written the same way in a Slack message and in a terminal.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import Any, Literal

from listener.timeutil import parse_time

# Narrow no-break space: the French thousands separator (and before % in "12 %").
NNBSP = "\u202f"

# -- state and label tables -----------------------------------------------------------------------

# Crisis levels (rules/crisis_state.py); notifications shout the crisis itself (CRISIS_BANNER_FR).
CRISIS_STATE_FR = {"normal": "normal", "vigilance": "vigilance", "crise": "crise", "retour": "retour à la normale"}
CRISIS_BANNER_FR = {**CRISIS_STATE_FR, "crise": "CRISE"}

# Scheduled posts (rules/posting_queue.py).
POST_STATE_FR = {
    "scheduled": "programmée",
    "held": "retenue",
    "publishing": "en cours d'envoi",
    "published": "publiée",
    "published-dry-run": "publiée (simulation)",
    "failed": "échec",
    "cancelled": "annulée",
}
POST_CATEGORY_FR = {"promotion": "promotion", "evenement": "événement", "humour": "humour",
                    "information": "information", "service": "service", "crise": "crise"}

# Alerts (the `alerts` table) and what one rules pass did to them (`vigie rules replay`).
ALERT_STATUS_FR = {"open": "ouverte", "acknowledged": "prise en charge", "resolved": "résolue",
                   "silenced": "mise en silence"}
ALERT_ACTION_FR = {"new": "nouvelle", "update": "mise à jour", "quiet_update": "mise à jour (tue)",
                   "silenced": "en silence", "inhibited": "retenue", "resolved": "close", "escalation": "escalade"}
# Severity as notifications headline it, and as the CLI lists it.
SEVERITY_FR = {"critical": "CRITIQUE", "warning": "ATTENTION", "info": "INFO"}
SEVERITY_SHORT_FR = {"critical": "CRITIQUE", "warning": "attention", "info": "info"}

# Outbox rows (alerts/outbox.py) and the kinds of notification they carry.
OUTBOX_STATE_FR = {"pending": "en attente", "sending": "en cours", "sent": "envoyée", "dead": "abandonnée"}
NOTIFICATION_KIND_FR = {"alert": "Alerte", "alert_update": "Mise à jour d'alerte", "escalation": "Escalade",
                        "crisis": "Mode de crise", "held_posts": "Publications retenues", "digest": "Synthèse"}

# Sentiment labels (the classifiers' English names; French spellings accepted from hand-written data).
SENTIMENT_FR = {"negative": "négatif", "neutral": "neutre", "positive": "positif"}
SENTIMENT_ANY_FR = {**SENTIMENT_FR, "negatif": "négatif", "positif": "positif", "neutre": "neutre"}

# -- numbers, percentages, times ------------------------------------------------------------------


def fr_number(value: float | int | None, decimals: int | Literal["auto"] = 0) -> str:
    """38 → '38', 1234.5 → '1 234,5' with decimals=1 (a whole value never shows decimals); 'auto' picks
    them by size (0 from 100 up, 1 from 1 up, else 2). None → '—'."""
    if value is None:
        return "—"
    figure = float(value)
    if decimals == "auto":
        decimals = 0 if figure.is_integer() or abs(figure) >= 100 else (1 if abs(figure) >= 1 else 2)
    text = f"{round(figure):,}" if decimals == 0 or figure.is_integer() else f"{figure:,.{decimals}f}"
    return text.replace(",", NNBSP).replace(".", ",")


def fr_percent(share: Any) -> str:
    """0.42 → '42 %'; anything that is not a number → '—'."""
    try:
        return f"{fr_number(round(float(share) * 100))} %"
    except (TypeError, ValueError):
        return "—"


def fr_change(ratio: Any) -> str:
    """Relative change with its sign: 0.5 → '+50 %', -0.2 → '-20 %'."""
    try:
        value = float(ratio)
    except (TypeError, ValueError):
        return "—"
    pct = round(value * 100)
    return ("+" if pct > 0 else "") + f"{fr_number(pct)} %"


def local_time(moment: Any, tz: tzinfo, fmt: str = "%H:%M") -> str:
    """A stored time (ISO text or datetime) on the institution's clock; '—' when missing or unreadable."""
    if not moment:
        return "—"
    try:
        return parse_time(moment).astimezone(tz).strftime(fmt)
    except (TypeError, ValueError):
        return "—"


# -- validation errors ----------------------------------------------------------------------------

# pydantic error types → what an operator reads next to the key at fault (config.toml, rule files).
VALIDATION_FR = {
    "extra_forbidden": "clé inconnue",
    "missing": "valeur obligatoire manquante",
    "int_parsing": "type invalide : un entier est attendu",
    "int_type": "type invalide : un entier est attendu",
    "float_parsing": "type invalide : un nombre est attendu",
    "float_type": "type invalide : un nombre est attendu",
    "bool_parsing": "type invalide : true ou false est attendu",
    "bool_type": "type invalide : true ou false est attendu",
    "string_type": "type invalide : une chaîne est attendue",
    "string_too_short": "une chaîne non vide est attendue",
    "list_type": "type invalide : une liste est attendue",
    "dict_type": "type invalide : une table est attendue",
    "model_type": "type invalide : une table est attendue",
    "literal_error": "valeur non autorisée",
    "greater_than_equal": "valeur trop petite",
    "less_than_equal": "valeur trop grande",
    "greater_than": "valeur trop petite",
    "less_than": "valeur trop grande",
    "union_tag_invalid": "type inconnu",
    "union_tag_not_found": "le champ « type » est obligatoire",
    "value_error": "valeur invalide",
}


def validation_message(error: dict[str, Any]) -> str:
    """One pydantic error (an item of ValidationError.errors()) in French, with pydantic's own words."""
    return f"{VALIDATION_FR.get(str(error.get('type')), 'valeur invalide')} ({error.get('msg', '')})"
