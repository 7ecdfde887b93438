"""The queue of scheduled posts: the `scheduled_posts`, `post_approvals` and `post_events` tables.

Every operator action (add, approve, hold, release, cancel) and every step of publishing (claim, published,
retry, failed) is one transaction here, with its audit event. What the policy says about a post is decided
in rules/posting_policy.py (pure); rules/crisis.py applies it on a change of level.
Post states: scheduled → publishing → published | published-dry-run | failed; held; cancelled.
"""

from __future__ import annotations

import json
import logging
import secrets
import uuid
from datetime import datetime, timedelta, tzinfo
from typing import Any

from listener.french import POST_CATEGORY_FR, POST_STATE_FR
from listener.store import Store
from listener.timeutil import parse_time, to_iso
from rules.crisis_settings import CHANNELS, PostingSettings
from rules.posting_policy import (
    PostingError,
    approval_valid,
    is_held,
    needs_approval,
    normalize_category,
    policy_for,
    same_person,
    verdict,
)

log = logging.getLogger("vigie.posting")

OPEN_STATES = ("scheduled", "held")
PUBLISHED_STATES = ("published", "published-dry-run")
_COLUMNS = (
    "id, text, channel, category, scheduled_at, author, state, created_at, updated_at, held_at, held_reason, "
    "released_by, released_at, needs_approval, attempts, next_attempt_at, last_error, idempotency_key, rkey, external_id, "
    "external_url, published_at"
)


def _tid(moment: datetime) -> str:
    """An AT Protocol record key (TID): 53-bit microseconds + 10-bit clock id, base32-sortable.
    Fixed per post, so a retried createRecord can never create a second record."""
    alphabet = "234567abcdefghijklmnopqrstuvwxyz"
    value = (int(moment.timestamp() * 1_000_000) << 10) | secrets.randbelow(1024)
    chars = []
    for _ in range(13):
        chars.append(alphabet[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def _row(values: tuple[Any, ...]) -> dict[str, Any]:
    return dict(zip([c.strip() for c in _COLUMNS.split(",")], values, strict=True))


def _event(store: Store, post_id: int, at: datetime, actor: str, action: str, detail: str = "") -> None:
    store.conn.execute(
        "INSERT INTO post_events (post_id, at, actor, action, detail) VALUES (?, ?, ?, ?, ?)",
        [post_id, to_iso(at), actor, action, detail],
    )


# -- queue ---------------------------------------------------------------------------------------


def add_post(
    store: Store, *, text: str, channel: str, category: str, scheduled_at: datetime, author: str, at: datetime
) -> int:
    """Queue a post; the policy is applied when it falls due (and at once on a change of level)."""
    text = (text or "").strip()
    if not text:
        raise PostingError("le texte de la publication est vide")
    if channel not in CHANNELS:
        raise PostingError(f"canal inconnu « {channel} » : choisir parmi {', '.join(CHANNELS)}")
    category = normalize_category(category)
    author = (author or "").strip()
    if not author:
        raise PostingError("indiquer l'auteur de la publication (--par)")
    if channel == "bluesky" and len(text) > 300:
        raise PostingError(f"texte trop long pour Bluesky ({len(text)} caractères, 300 au plus)")
    with store.transaction():
        post_id = store.conn.execute(
            "INSERT INTO scheduled_posts (text, channel, category, scheduled_at, author, state, created_at, "
            "updated_at, idempotency_key, rkey) VALUES (?, ?, ?, ?, ?, 'scheduled', ?, ?, ?, ?)",
            [text, channel, category, to_iso(scheduled_at), author, to_iso(at), to_iso(at),
             f"vigie-post-{uuid.uuid4().hex}", _tid(at)],
        ).lastrowid
        _event(store, post_id, at, author, "add", f"{channel} {category} {to_iso(scheduled_at)}")
    return int(post_id)


def get_post(store: Store, post_id: int) -> dict[str, Any] | None:
    found = store.conn.execute(f"SELECT {_COLUMNS} FROM scheduled_posts WHERE id = ?", [post_id]).fetchone()
    if found is None:
        return None
    post = _row(found)
    post["approvals"] = approvals(store, post_id)
    return post


def _require(store: Store, post_id: int) -> dict[str, Any]:
    post = get_post(store, post_id)
    if post is None:
        raise PostingError(f"aucune publication n° {post_id}")
    return post


def list_posts(store: Store, *, states: list[str] | None = None, limit: int = 200) -> list[dict[str, Any]]:
    sql = f"SELECT {_COLUMNS} FROM scheduled_posts"
    params: list[Any] = []
    if states:
        sql += f" WHERE state IN ({','.join('?' * len(states))})"
        params += states
    sql += " ORDER BY scheduled_at, id LIMIT ?"
    params.append(limit)
    posts = [_row(values) for values in store.conn.execute(sql, params).fetchall()]
    for post in posts:
        post["approvals"] = approvals(store, post["id"])
    return posts


def approvals(store: Store, post_id: int) -> list[dict[str, str]]:
    rows = store.conn.execute(
        "SELECT approver, at FROM post_approvals WHERE post_id = ? ORDER BY id", [post_id]
    ).fetchall()
    return [{"approver": approver, "at": at} for approver, at in rows]


def approve(store: Store, config: PostingSettings, post_id: int, approver: str, at: datetime) -> None:
    """A second person approves a post (required in crisis for what may still go out)."""
    approver = (approver or "").strip()
    if not approver:
        raise PostingError("indiquer qui approuve (--par)")
    post = _require(store, post_id)
    if post["state"] not in OPEN_STATES:
        raise PostingError(f"la publication n° {post_id} est {POST_STATE_FR.get(post['state'], post['state'])} : "
                           "rien à approuver")
    if config.require_second_approver and same_person(approver, post["author"]):
        raise PostingError(f"{approver} est l'auteur de la publication n° {post_id} : "
                           "l'approbation doit venir d'une autre personne")
    with store.transaction():
        store.conn.execute(
            "INSERT OR IGNORE INTO post_approvals (post_id, approver, at) VALUES (?, ?, ?)",
            [post_id, approver, to_iso(at)],
        )
        store.conn.execute("UPDATE scheduled_posts SET updated_at = ? WHERE id = ?", [to_iso(at), post_id])
        _event(store, post_id, at, approver, "approve")


def has_valid_approval(store: Store, config: PostingSettings, post: dict[str, Any]) -> bool:
    return approval_valid([a["approver"] for a in approvals(store, post["id"])], post["author"], config)


def hold(store: Store, post_id: int, actor: str, reason: str, at: datetime) -> None:
    """A person holds a post by hand (it will wait for `release`)."""
    post = _require(store, post_id)
    if post["state"] != "scheduled":
        raise PostingError(f"la publication n° {post_id} est {POST_STATE_FR.get(post['state'], post['state'])} : "
                           "seule une publication programmée peut être retenue")
    with store.transaction():
        store.conn.execute(
            "UPDATE scheduled_posts SET state = 'held', held_at = ?, held_reason = ?, held_announced = 1, "
            "released_by = NULL, released_at = NULL, updated_at = ? WHERE id = ?",
            [to_iso(at), reason or f"retenue par {actor}", to_iso(at), post_id],
        )
        _event(store, post_id, at, actor, "hold", reason)


def release(store: Store, post_id: int, actor: str, at: datetime) -> None:
    """A person frees a held (or failed) post: it goes back to its schedule. The release also counts as an approval
    when the person is not the author (in crisis, a released post still needs one)."""
    actor = (actor or "").strip()
    if not actor:
        raise PostingError("indiquer qui libère la publication (--par)")
    post = _require(store, post_id)
    if post["state"] not in ("held", "failed"):
        raise PostingError(f"la publication n° {post_id} n'est ni retenue ni en échec "
                           f"({POST_STATE_FR.get(post['state'], post['state'])})")
    with store.transaction():
        # A failed post released by hand starts its attempts again (same keys: still never twice).
        store.conn.execute(
            "UPDATE scheduled_posts SET state = 'scheduled', released_by = ?, released_at = ?, updated_at = ?, "
            "attempts = 0, next_attempt_at = NULL WHERE id = ?",
            [actor, to_iso(at), to_iso(at), post_id],
        )
        _event(store, post_id, at, actor, "release")
        if not same_person(actor, post["author"]):
            store.conn.execute(
                "INSERT OR IGNORE INTO post_approvals (post_id, approver, at) VALUES (?, ?, ?)",
                [post_id, actor, to_iso(at)],
            )


def cancel(store: Store, post_id: int, actor: str, at: datetime) -> None:
    post = _require(store, post_id)
    if post["state"] not in OPEN_STATES:
        raise PostingError(f"la publication n° {post_id} est {POST_STATE_FR.get(post['state'], post['state'])} : "
                           "elle ne peut plus être annulée")
    with store.transaction():
        store.conn.execute(
            "UPDATE scheduled_posts SET state = 'cancelled', cancelled_by = ?, cancelled_at = ?, updated_at = ? "
            "WHERE id = ?",
            [actor or "?", to_iso(at), to_iso(at), post_id],
        )
        _event(store, post_id, at, actor or "?", "cancel")


def published_last_hour(store: Store, channel: str, now: datetime) -> int:
    """Posts gone out (or going out) on this account in the sliding hour before `now`."""
    return store.conn.execute(
        "SELECT count(*) FROM scheduled_posts WHERE channel = ? AND ("
        "(state IN ('published', 'published-dry-run') AND published_at > ?) OR state = 'publishing')",
        [channel, to_iso(now - timedelta(hours=1))],
    ).fetchone()[0]


def _hold_rows(store: Store, rows: list[dict[str, Any]], reason: str, at: datetime) -> None:
    for post in rows:
        store.conn.execute(
            "UPDATE scheduled_posts SET state = 'held', held_at = ?, held_reason = ?, held_announced = 0, "
            "updated_at = ? WHERE id = ? AND state = 'scheduled'",
            [to_iso(at), reason, to_iso(at), post["id"]],
        )
        _event(store, post["id"], at, "système", "hold", reason)


def hold_candidates(store: Store, categories: frozenset[str], horizon: datetime) -> list[dict[str, Any]]:
    """Scheduled posts due before `horizon`, never released by hand, whose category is in `categories`."""
    if not categories:
        return []
    return [
        _row(values) for values in store.conn.execute(
            f"SELECT {_COLUMNS} FROM scheduled_posts WHERE state = 'scheduled' AND scheduled_at <= ? "
            f"AND released_by IS NULL AND category IN ({','.join('?' * len(categories))}) ORDER BY scheduled_at",
            [to_iso(horizon), *sorted(categories)],
        ).fetchall()
    ]


def hold_all(store: Store, posts: list[dict[str, Any]], reason: str, at: datetime) -> None:
    """The policy holds these posts (the cell is told later, see `unannounced_held`)."""
    with store.transaction():
        _hold_rows(store, posts, reason, at)


def unannounced_held(store: Store) -> list[dict[str, Any]]:
    return [
        _row(values) for values in store.conn.execute(
            f"SELECT {_COLUMNS} FROM scheduled_posts WHERE state = 'held' AND held_announced = 0 ORDER BY id"
        ).fetchall()
    ]


def mark_announced(store: Store, ids: list[int]) -> None:
    with store.transaction():
        store.conn.execute(
            f"UPDATE scheduled_posts SET held_announced = 1 WHERE id IN ({','.join('?' * len(ids))})", ids
        )


def claim_ready(store: Store, config: PostingSettings, state: str, now: datetime, *,
                limit: int = 20) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Apply the policy of `state` to every due post: hold what must be held, leave what waits for an
    approval or the cadence, and mark `publishing` (committed before any send) what may go out.
    Returns (claimed, newly held); the caller tells the cell about the held ones."""
    due = [
        _row(values) for values in store.conn.execute(
            f"SELECT {_COLUMNS} FROM scheduled_posts WHERE state = 'scheduled' AND scheduled_at <= ? "
            "AND (next_attempt_at IS NULL OR next_attempt_at <= ?) ORDER BY scheduled_at, id",
            [to_iso(now), to_iso(now)],
        ).fetchall()
    ]
    if not due:
        return [], []
    policy = policy_for(state, config)
    claimed: list[dict[str, Any]] = []
    held: list[dict[str, Any]] = []
    with store.transaction():
        for post in due:
            # The facts the policy needs, read only when it will look at them.
            waits = not is_held(post, policy) and needs_approval(post, policy)
            approved = has_valid_approval(store, config, post) if waits else True
            counted = policy.max_per_hour is not None and not is_held(post, policy)
            sent = published_last_hour(store, post["channel"], now) if counted else 0
            decision = verdict(post, policy, approved=approved, sent_last_hour=sent)
            if decision == "hold":
                held.append(post)
                category = POST_CATEGORY_FR[post["category"]]
                _hold_rows(store, [post], f"catégorie « {category} » retenue en « {state} »", now)
            elif decision == "approval" and not post["needs_approval"]:
                store.conn.execute("UPDATE scheduled_posts SET needs_approval = 1, updated_at = ? WHERE id = ?",
                                   [to_iso(now), post["id"]])
                _event(store, post["id"], now, "système", "needs_approval", f"niveau « {state} »")
            elif decision == "publish" and len(claimed) < limit:
                store.conn.execute(
                    "UPDATE scheduled_posts SET state = 'publishing', attempts = attempts + 1, updated_at = ? "
                    "WHERE id = ? AND state = 'scheduled'",
                    [to_iso(now), post["id"]],
                )
                post["state"] = "publishing"
                post["attempts"] += 1
                claimed.append(post)
    return claimed, held


def mark_published(store: Store, post_id: int, *, at: datetime, dry_run: bool, external_id: str | None = None,
                   external_url: str | None = None) -> None:
    state = "published-dry-run" if dry_run else "published"
    with store.transaction():
        store.conn.execute(
            "UPDATE scheduled_posts SET state = ?, published_at = ?, external_id = ?, external_url = ?, "
            "last_error = NULL, next_attempt_at = NULL, updated_at = ? WHERE id = ?",
            [state, to_iso(at), external_id, external_url, to_iso(at), post_id],
        )
        _event(store, post_id, at, "système", state, external_url or external_id or "")


def mark_retry(store: Store, post_id: int, *, error: str, next_attempt_at: datetime, at: datetime) -> None:
    with store.transaction():
        store.conn.execute(
            "UPDATE scheduled_posts SET state = 'scheduled', last_error = ?, next_attempt_at = ?, updated_at = ? "
            "WHERE id = ? AND state = 'publishing'",
            [error[:1000], to_iso(next_attempt_at), to_iso(at), post_id],
        )
        _event(store, post_id, at, "système", "retry", error[:300])


def mark_failed(store: Store, post_id: int, *, error: str, at: datetime) -> None:
    with store.transaction():
        store.conn.execute(
            "UPDATE scheduled_posts SET state = 'failed', last_error = ?, next_attempt_at = NULL, updated_at = ? "
            "WHERE id = ?",
            [error[:1000], to_iso(at), post_id],
        )
        _event(store, post_id, at, "système", "failed", error[:300])


def recover_in_flight(store: Store, at: datetime) -> int:
    """At start-up: posts left `publishing` by a dead process are tried again with the same idempotency
    key / record key, so the network never sees a second post."""
    with store.transaction():
        return store.conn.execute(
            "UPDATE scheduled_posts SET state = 'scheduled', updated_at = ?, "
            "last_error = coalesce(last_error, 'interrompue pendant l''envoi (redémarrage)') WHERE state = 'publishing'",
            [to_iso(at)],
        ).rowcount


def held_since(store: Store, since: datetime) -> list[dict[str, Any]]:
    """Posts held now, or held at or after `since`, by scheduled time (what a crisis kept back)."""
    rows = store.conn.execute(
        f"SELECT {_COLUMNS} FROM scheduled_posts WHERE held_at >= ? OR state = 'held' ORDER BY scheduled_at, id",
        [to_iso(since)],
    ).fetchall()
    return [_row(values) for values in rows]


def events(store: Store, post_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """Each post's journal, oldest first: who added, held, approved, released, published it, and when."""
    out: dict[int, list[dict[str, Any]]] = {}
    for start in range(0, len(post_ids), 500):
        chunk = post_ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for post_id, at, actor, action, detail in store.conn.execute(
                f"SELECT post_id, at, actor, action, detail FROM post_events WHERE post_id IN ({marks}) ORDER BY id",
                chunk):
            out.setdefault(post_id, []).append({"at": at, "actor": actor, "action": action, "detail": detail})
    return out


def summary(store: Store) -> dict[str, int]:
    return dict(store.conn.execute("SELECT state, count(*) FROM scheduled_posts GROUP BY state").fetchall())


def as_public(post: dict[str, Any]) -> dict[str, Any]:
    """A post for the JSON API (no idempotency secrets to hide, but keep it tidy)."""
    keys = ("id", "text", "channel", "category", "scheduled_at", "author", "state", "held_at", "held_reason",
            "needs_approval", "released_by", "released_at", "attempts", "last_error", "external_id", "external_url", "published_at",
            "approvals")
    public = {k: post.get(k) for k in keys}
    # The French words the CLI uses, so the web UI shows the same ones without a copy of these tables.
    public["state_label"] = POST_STATE_FR.get(post.get("state"), post.get("state"))
    public["category_label"] = POST_CATEGORY_FR.get(post.get("category"), post.get("category"))
    return public


def parse_when(value: str, tz: tzinfo) -> datetime:
    """'2026-11-18 10:00' in the institution's time zone (or an ISO time with offset/Z) → aware UTC."""
    text = value.strip()
    try:
        if text.endswith("Z") or "+" in text[10:]:
            return parse_time(text)
        local = datetime.fromisoformat(text.replace(" ", "T"))
    except ValueError:
        raise PostingError(f"date invalide « {value} » : format attendu AAAA-MM-JJ HH:MM") from None
    if local.tzinfo is None:
        local = local.replace(tzinfo=tz)
    return parse_time(local)


def dumps(posts: list[dict[str, Any]]) -> str:
    return json.dumps([as_public(p) for p in posts], ensure_ascii=False)
