"""French vocabulary shared by every area: the words for states and labels shown to people, numbers,
percentages and times written the French way, and the translation of validation errors.

Floor 0 (imports nothing of Vigie's above listener/): the CLI, the web API, the alerts and the rules all
read their words here, so a state is never called two different things in two places.
"""

from __future__ import annotations

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
