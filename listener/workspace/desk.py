"""The posting desk's actions under named accounts: approve, release, cancel.

Why here and not in rules/: the policy (rules/posting_policy.py) and the queue (rules/posting_queue.py)
stay the posting area's; what the workspace adds is who acts. A post held by the crisis policy goes back
to its schedule only once `held_post_approvals` distinct accounts (never its author) have approved it:
the « four eyes » rule cannot be met by one person typing two names.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from listener.french import POST_CATEGORY_FR, POST_STATE_FR
from rules import posting_queue
from rules.crisis_settings import PostingSettings
from rules.posting_policy import policy_for, same_person


class DeskError(Exception):
    def __init__(self, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Outcome:
    post: dict[str, Any]
    message: str
    released: bool = False


def _post(store, post_id: int) -> dict[str, Any]:
    post = posting_queue.get_post(store, post_id)
    if post is None:
        raise DeskError(f"aucune publication n° {post_id}", 404)
    return post


def approve(store, config: PostingSettings, post_id: int, account: str, at: datetime, *, needed: int) -> Outcome:
    """The account approves the post; a held post is released once `needed` distinct accounts approved it."""
    post = _post(store, post_id)
    approvers = [a["approver"] for a in post["approvals"]]
    if any(same_person(account, name) for name in approvers):
        raise DeskError("vous avez déjà approuvé cette publication : l'approbation suivante doit venir d'un autre compte")
    if same_person(account, post["author"]):
        raise DeskError("vous êtes l'auteur de cette publication : l'approbation doit venir d'un autre compte")
    try:
        posting_queue.approve(store, config, post_id, account, at)
    except posting_queue.PostingError as exc:
        raise DeskError(str(exc)) from None
    post = _post(store, post_id)
    distinct = {a["approver"].casefold() for a in post["approvals"] if not same_person(a["approver"], post["author"])}
    if post["state"] == "held":
        if len(distinct) >= needed:
            posting_queue.release(store, post_id, account, at)
            return Outcome(_post(store, post_id), f"approuvée par {len(distinct)} comptes : remise dans la file", True)
        return Outcome(post, f"approbation {len(distinct)}/{needed} enregistrée : "
                             "en attente d'une seconde personne (un autre compte)")
    return Outcome(post, "approbation enregistrée")


def release(store, post_id: int, account: str, at: datetime) -> Outcome:
    """Put a failed post back in the queue (held posts go back through `approve`, with four eyes)."""
    post = _post(store, post_id)
    if post["state"] == "held":
        raise DeskError("une publication retenue est remise en file par les approbations de deux comptes")
    try:
        posting_queue.release(store, post_id, account, at)
    except posting_queue.PostingError as exc:
        raise DeskError(str(exc)) from None
    return Outcome(_post(store, post_id), "remise dans la file", True)


def cancel(store, post_id: int, account: str, at: datetime) -> Outcome:
    try:
        posting_queue.cancel(store, post_id, account, at)
    except posting_queue.PostingError as exc:
        raise DeskError(str(exc)) from None
    return Outcome(_post(store, post_id), "publication annulée")


def policy(state: str, config: PostingSettings, needed: int) -> dict[str, Any]:
    """The policy in force, in words the desk shows."""
    rule = policy_for(state, config)
    return {"state": state, "held_categories": sorted(rule.held), "approval_categories": sorted(rule.approval),
            "held_labels": [POST_CATEGORY_FR.get(c, c) for c in sorted(rule.held)],
            "approval_labels": [POST_CATEGORY_FR.get(c, c) for c in sorted(rule.approval)],
            "max_per_hour": rule.max_per_hour, "held_post_approvals": needed,
            "second_approver": config.require_second_approver, "mode": config.mode}


def state_label(state: str) -> str:
    return POST_STATE_FR.get(state, state)
