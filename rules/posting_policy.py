"""The posting policy in force at each crisis level, as pure functions (no store, no clock).

Why: during a crisis an institution must not publish a cheerful promotion or a joke on schedule, and
what it does publish must be seen by a second person. The policy, per level:
- normal: posts follow their schedule;
- vigilance and retour (middle ground): `vigilance_held_categories` (humour) are held, and
  `vigilance_approval_categories` (promotion, evenement) need a second person's approval;
- crise: `held_categories` (promotion, evenement, humour) are held automatically and the cell is told
  which; `crisis_approval_categories` (information, service, crise) need approval by a second person
  (approver ≠ author); at most `crisis_max_posts_per_hour` per account.
A held post stays held whatever the level becomes: only a person frees it (`vigie posts release ID`).
The queue (rules/posting_queue.py) stores posts; rules/crisis.py applies this policy on a change of level.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any, Literal

from listener.errors import VigieError
from rules.crisis_settings import CATEGORIES, PostingSettings

Verdict = Literal["publish", "hold", "approval", "cadence"]


class PostingError(VigieError):
    """An operator action on the queue that cannot be done (message in French)."""


@dataclass(frozen=True)
class Policy:
    state: str
    held: frozenset[str]
    approval: frozenset[str]
    max_per_hour: int | None  # None: no cadence limit


def policy_for(state: str, config: PostingSettings) -> Policy:
    if state == "crise":
        return Policy(state, frozenset(config.held_categories), frozenset(config.crisis_approval_categories),
                      config.crisis_max_posts_per_hour)
    if state in ("vigilance", "retour"):
        return Policy(state, frozenset(config.vigilance_held_categories),
                      frozenset(config.vigilance_approval_categories), None)
    return Policy(state, frozenset(), frozenset(), None)


def normalize_category(value: str) -> str:
    """'Événement' → 'evenement': operators type accents, the store keeps one spelling."""
    folded = "".join(c for c in unicodedata.normalize("NFKD", value.strip().lower()) if not unicodedata.combining(c))
    if folded not in CATEGORIES:
        raise PostingError(f"catégorie inconnue « {value} » : choisir parmi {', '.join(CATEGORIES)}")
    return folded


def same_person(a: str | None, b: str | None) -> bool:
    return (a or "").strip().casefold() == (b or "").strip().casefold()


def approval_valid(approvers: list[str], author: str | None, config: PostingSettings) -> bool:
    """Whether the approvals a post got are enough (a second person, unless the setting says otherwise)."""
    if not config.require_second_approver:
        return bool(approvers)
    return any(not same_person(approver, author) for approver in approvers)


def is_held(post: dict[str, Any], policy: Policy) -> bool:
    return post["category"] in policy.held and not post.get("released_by")


def needs_approval(post: dict[str, Any], policy: Policy) -> bool:
    """Once a post has waited for an approval it keeps needing one, even if the level drops meanwhile:
    an unapproved crisis message never slips out on its own when the crisis ends."""
    released = bool(post.get("released_by"))
    return (post["category"] in policy.approval or (released and post["category"] in policy.held)
            or bool(post.get("needs_approval")))


def verdict(post: dict[str, Any], policy: Policy, *, approved: bool, sent_last_hour: int) -> Verdict:
    """What the policy says for one due, scheduled post: publish | hold | approval | cadence."""
    if is_held(post, policy):
        return "hold"
    if needs_approval(post, policy) and not approved:
        return "approval"
    if policy.max_per_hour is not None and sent_last_hour >= policy.max_per_hour:
        return "cadence"
    return "publish"
