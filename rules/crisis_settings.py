"""Settings for crisis mode and the posting policy (rules/crisis*.py, rules/posting_*.py).

Crisis levels: normal → vigilance → crise → retour (retour à la normale) → normal. Each level has a
posting policy: which categories of scheduled posts are held back, which need the approval of a second
person, and how many posts per hour may go out.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from listener.settings_base import StrictModel

STATES = ("normal", "vigilance", "crise", "retour")
CATEGORIES = ("promotion", "evenement", "humour", "information", "service", "crise")
CHANNELS = ("mastodon", "bluesky")


def _default_transitions() -> dict[str, list[str]]:
    # Leaving "crise" goes through "retour" (by hand, or after the calm period); "retour" → "normal" only by hand.
    return {
        "normal": ["vigilance", "crise"],
        "vigilance": ["crise", "normal"],
        "crise": ["retour"],
        "retour": ["normal", "vigilance", "crise"],
    }


class CrisisSettings(StrictModel):
    # Minutes without any critical alert after which "crise" steps down to "retour à la normale".
    calm_period_minutes: int = Field(180, ge=1)
    # Allowed changes of level: {from: [to, …]}. Anything else is refused with a French message.
    transitions: dict[str, list[str]] = Field(default_factory=_default_transitions)
    # Recipient groups told of every change of level and of held posts (empty = every configured group).
    announce_groups: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _known_states(self) -> CrisisSettings:
        for source, targets in self.transitions.items():
            for state in [source, *targets]:
                if state not in STATES:
                    raise ValueError(f"niveau inconnu « {state} » (attendus : {', '.join(STATES)})")
        return self


class MastodonAccount(StrictModel):
    # Base URL of the institution's Mastodon instance, e.g. "https://rivebelle.social".
    base_url: str = ""
    # Environment variable holding the access token (scope write:statuses).
    token_env: str = "VIGIE_MASTODON_TOKEN"
    # Visibility of published statuses: public, unlisted, private.
    visibility: Literal["public", "unlisted", "private"] = "public"


class BlueskyAccount(StrictModel):
    # Base URL of the account's PDS (personal data server), e.g. "https://bsky.social".
    base_url: str = "https://bsky.social"
    # Handle of the institution's account, e.g. "rivebelle.fr".
    handle: str = ""
    # Environment variable holding an app password (never the main password).
    app_password_env: str = "VIGIE_BLUESKY_APP_PASSWORD"


class PostingAccounts(StrictModel):
    mastodon: MastodonAccount = Field(default_factory=MastodonAccount)
    bluesky: BlueskyAccount = Field(default_factory=BlueskyAccount)


class PostingSettings(StrictModel):
    # "dry-run" logs what would be published and marks it "published-dry-run"; "live" publishes for real.
    mode: Literal["dry-run", "live"] = "dry-run"
    # Categories held automatically in "crise" (the cell is told which); only `vigie posts release` frees them.
    held_categories: list[str] = Field(default_factory=lambda: ["promotion", "evenement", "humour"])
    # Categories that, in "crise", need the approval of a second person (approver ≠ author).
    crisis_approval_categories: list[str] = Field(default_factory=lambda: ["information", "service", "crise"])
    # Middle ground for "vigilance" and "retour": these categories are held (the tone could jar) …
    vigilance_held_categories: list[str] = Field(default_factory=lambda: ["humour"])
    # … and these need a second person's approval; the others follow their schedule.
    vigilance_approval_categories: list[str] = Field(default_factory=lambda: ["promotion", "evenement"])
    # Most posts per hour and per account while in "crise" (a sliding hour); extra posts wait their turn.
    crisis_max_posts_per_hour: int = Field(2, ge=0)
    # Require approval by a second person (approver ≠ author) where the policy asks for it.
    require_second_approver: bool = True
    # On entering a level, posts due within this many hours are checked (and held) at once.
    hold_horizon_hours: int = Field(72, ge=0)
    # Seconds between two passes of the publisher when live.
    poll_interval: float = Field(15.0, gt=0)
    # Attempts before a post is marked failed (a transient error is retried; never published twice).
    max_attempts: int = Field(6, ge=1)
    # First retry delay in seconds, doubled at each failure (Retry-After honoured when longer).
    backoff_initial: float = Field(30.0, ge=0)
    # Longest delay between two attempts, in seconds.
    backoff_max: float = Field(1800.0, ge=0)
    # Seconds before one publishing request is abandoned.
    timeout: float = Field(20.0, gt=0)
    # Accounts the institution publishes with.
    accounts: PostingAccounts = Field(default_factory=PostingAccounts)

    @model_validator(mode="after")
    def _known_categories(self) -> PostingSettings:
        for name in ("held_categories", "crisis_approval_categories", "vigilance_held_categories",
                     "vigilance_approval_categories"):
            for category in getattr(self, name):
                if category not in CATEGORIES:
                    raise ValueError(f"catégorie inconnue « {category} » (attendues : {', '.join(CATEGORIES)})")
        return self
