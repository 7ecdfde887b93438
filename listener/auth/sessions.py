"""Browser sessions: a random token in an HttpOnly, SameSite=Strict cookie, stored hashed, with its CSRF token.

Sessions expire after `max_hours` and after `idle_minutes` without a request; they use the wall clock,
never the replay clock (a demo replaying last week must still open today's sessions).
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta

from listener.auth.users import User, Users
from listener.store import Store, store_fault
from listener.timeutil import parse_time, to_iso, utcnow

COOKIE = "vigie_session"


@dataclass(frozen=True)
class Session:
    user: User
    csrf_token: str
    expires_at: datetime
    via: str


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Sessions:
    def __init__(self, store: Store, users: Users, *, max_hours: float = 12, idle_minutes: float = 120) -> None:
        self.store = store
        self.users = users
        self.max_age = timedelta(hours=max_hours)
        self.idle = timedelta(minutes=idle_minutes)

    def open(self, user: User, *, via: str = "password", at: datetime | None = None) -> tuple[str, Session]:
        """A new session for the account; returns the cookie value (shown once, never stored)."""
        now = at or utcnow()
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        expires = now + self.max_age
        with self.store.transaction():
            self.store.conn.execute(
                "INSERT INTO user_sessions (token_hash, user_id, csrf_token, created_at, expires_at, last_seen_at, via) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [_hash(token), user.id, csrf, to_iso(now), to_iso(expires), to_iso(now), via],
            )
            self.store.conn.execute("DELETE FROM user_sessions WHERE expires_at < ?", [to_iso(now)])
        return token, Session(user, csrf, expires, via)

    def lookup(self, token: str | None, at: datetime | None = None) -> Session | None:
        """The live session of a cookie value, or None (expired, idle, unknown, or its account disabled)."""
        if not token or len(token) > 200:
            return None
        now = at or utcnow()
        key = _hash(token)
        row = self.store.conn.execute(
            "SELECT user_id, csrf_token, expires_at, last_seen_at, via FROM user_sessions WHERE token_hash = ?", [key]
        ).fetchone()
        if row is None:
            return None
        user_id, csrf, expires_at, last_seen, via = row
        if parse_time(expires_at) <= now or parse_time(last_seen) + self.idle <= now:
            self.close(token)
            return None
        user = self.users.by_id(user_id)
        if user is None or user.disabled:
            self.close(token)
            return None
        if (now - parse_time(last_seen)).total_seconds() > 60:  # one write a minute at most per session
            try:
                with self.store.transaction():
                    self.store.conn.execute("UPDATE user_sessions SET last_seen_at = ? WHERE token_hash = ?",
                                            [to_iso(now), key])
            except sqlite3.Error as exc:  # the store is busy: the session is valid all the same, touched later
                if store_fault(exc) is None:
                    raise
        return Session(user, csrf, parse_time(expires_at), via)

    def close(self, token: str | None) -> None:
        if not token:
            return
        with self.store.transaction():
            self.store.conn.execute("DELETE FROM user_sessions WHERE token_hash = ?", [_hash(token)])
