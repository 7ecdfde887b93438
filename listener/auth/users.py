"""Named accounts and their roles, with argon2id password hashes and a lock-out after repeated failures.

Roles (French, as the cell says them):
- `lecture`: reads the workspace, changes nothing;
- `cellule`: the social-media cell, acts on alerts (ack, silence, resolve), the crisis level and the posts;
- `cabinet`: the officials' staff, approves posts and changes the crisis level;
- `admin`: everything, including the accounts.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from listener.errors import VigieError
from listener.store import Store
from listener.timeutil import parse_time, to_iso, utcnow

ROLES = ("lecture", "cellule", "cabinet", "admin")
ROLE_FR = {"lecture": "lecture seule", "cellule": "cellule réseaux sociaux", "cabinet": "cabinet", "admin": "administration"}
# What each permission lets an account do, and which roles hold it.
PERMISSIONS: dict[str, frozenset[str]] = {
    "read": frozenset(ROLES),
    "alerts": frozenset({"cellule", "admin"}),
    "crisis": frozenset({"cellule", "cabinet", "admin"}),
    "posts": frozenset({"cellule", "cabinet", "admin"}),
    "users": frozenset({"admin"}),
}
MIN_PASSWORD_LENGTH = 12
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
_HASHER = PasswordHasher()  # argon2id with the library's current recommended parameters
# Verified when the account does not exist, so an unknown name costs the same time as a wrong password.
_DUMMY_HASH = _HASHER.hash("vigie-dummy-password-for-timing")
_COLUMNS = ("id, username, display_name, email, role, password_hash, oidc_subject, disabled, failed_logins, "
            "locked_until, created_at, updated_at, last_login_at")


class UserError(VigieError):
    """An account operation that cannot be done (message in French, for the operator)."""


@dataclass(frozen=True)
class User:
    id: int
    username: str
    display_name: str
    role: str
    email: str | None = None
    disabled: bool = False
    locked_until: str | None = None
    last_login_at: str | None = None
    oidc_subject: str | None = None

    @property
    def label(self) -> str:
        """How the account appears in journals: its login name (unique, so two people never merge)."""
        return self.username

    def can(self, permission: str) -> bool:
        return not self.disabled and self.role in PERMISSIONS.get(permission, frozenset())

    def public(self) -> dict[str, Any]:
        return {"username": self.username, "display_name": self.display_name or self.username, "role": self.role,
                "role_label": ROLE_FR.get(self.role, self.role),
                "permissions": sorted(p for p in PERMISSIONS if self.can(p))}


@dataclass(frozen=True)
class LoginResult:
    user: User | None
    error: str | None = None  # French, safe to show: never says whether the name exists


def _user(row: tuple[Any, ...]) -> User:
    record = dict(zip([c.strip() for c in _COLUMNS.split(",")], row, strict=True))
    return User(id=record["id"], username=record["username"], display_name=record["display_name"],
                role=record["role"], email=record["email"], disabled=bool(record["disabled"]),
                locked_until=record["locked_until"], last_login_at=record["last_login_at"],
                oidc_subject=record["oidc_subject"])


def normalize_username(name: str) -> str:
    folded = unicodedata.normalize("NFKC", (name or "").strip()).casefold()
    if not _USERNAME.match(folded):
        raise UserError(f"identifiant invalide « {name[:40]} » : 2 à 64 caractères parmi a-z, 0-9, « . », « _ », « - »")
    return folded


def check_role(role: str) -> str:
    if role not in ROLES:
        raise UserError(f"rôle inconnu « {role} » : choisir parmi {', '.join(ROLES)}")
    return role


def check_password(password: str) -> None:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise UserError(f"mot de passe trop court : {MIN_PASSWORD_LENGTH} caractères au moins")


def generate_password() -> str:
    """A random password easy to read out (no 0/O, 1/l), 20 characters."""
    alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(20))


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


class Users:
    """The accounts repository over the store (all SQL of the users table lives here)."""

    def __init__(self, store: Store, *, max_failures: int = 5, lockout_minutes: float = 15) -> None:
        self.store = store
        self.max_failures = max_failures
        self.lockout = timedelta(minutes=lockout_minutes)

    def add(self, username: str, role: str, *, password: str | None, display_name: str = "",
            email: str | None = None, oidc_subject: str | None = None, at: datetime | None = None) -> User:
        name = normalize_username(username)
        check_role(role)
        if password is not None:
            check_password(password)
        if self.get(name) is not None:
            raise UserError(f"le compte « {name} » existe déjà")
        now = to_iso(at or utcnow())
        with self.store.transaction():
            self.store.conn.execute(
                "INSERT INTO users (username, display_name, email, role, password_hash, oidc_subject, created_at, "
                "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [name, display_name.strip()[:120], email, role, hash_password(password) if password else None,
                 oidc_subject, now, now],
            )
        user = self.get(name)
        assert user is not None
        return user

    def get(self, username: str) -> User | None:
        row = self.store.conn.execute(f"SELECT {_COLUMNS} FROM users WHERE username = ?",
                                      [(username or "").strip().casefold()]).fetchone()
        return _user(row) if row else None

    def by_id(self, user_id: int) -> User | None:
        row = self.store.conn.execute(f"SELECT {_COLUMNS} FROM users WHERE id = ?", [user_id]).fetchone()
        return _user(row) if row else None

    def by_subject(self, subject: str) -> User | None:
        row = self.store.conn.execute(f"SELECT {_COLUMNS} FROM users WHERE oidc_subject = ?", [subject]).fetchone()
        return _user(row) if row else None

    def list(self) -> list[User]:
        return [_user(row) for row in self.store.conn.execute(f"SELECT {_COLUMNS} FROM users ORDER BY username")]

    def active_count(self) -> int:
        return self.store.conn.execute("SELECT count(*) FROM users WHERE disabled = 0").fetchone()[0]

    def _require(self, username: str) -> User:
        user = self.get(username)
        if user is None:
            raise UserError(f"aucun compte « {username} »")
        return user

    def set_password(self, username: str, password: str, at: datetime | None = None) -> None:
        """New password; the lock-out is lifted and every open session of the account is closed."""
        user = self._require(username)
        check_password(password)
        now = to_iso(at or utcnow())
        with self.store.transaction():
            self.store.conn.execute(
                "UPDATE users SET password_hash = ?, failed_logins = 0, locked_until = NULL, updated_at = ? "
                "WHERE id = ?", [hash_password(password), now, user.id])
            self.store.conn.execute("DELETE FROM user_sessions WHERE user_id = ?", [user.id])

    def set_disabled(self, username: str, disabled: bool = True, at: datetime | None = None) -> None:
        """A disabled account cannot log in and its open sessions end at once."""
        user = self._require(username)
        with self.store.transaction():
            self.store.conn.execute("UPDATE users SET disabled = ?, updated_at = ? WHERE id = ?",
                                    [int(disabled), to_iso(at or utcnow()), user.id])
            if disabled:
                self.store.conn.execute("DELETE FROM user_sessions WHERE user_id = ?", [user.id])

    def bind_subject(self, username: str, subject: str, at: datetime | None = None) -> None:
        """Link an account to its single-sign-on identity (the provider's stable subject)."""
        user = self._require(username)
        with self.store.transaction():
            self.store.conn.execute("UPDATE users SET oidc_subject = ?, updated_at = ? WHERE id = ?",
                                    [subject, to_iso(at or utcnow()), user.id])

    def set_role(self, username: str, role: str, at: datetime | None = None) -> None:
        user = self._require(username)
        check_role(role)
        with self.store.transaction():
            self.store.conn.execute("UPDATE users SET role = ?, updated_at = ? WHERE id = ?",
                                    [role, to_iso(at or utcnow()), user.id])

    def authenticate(self, username: str, password: str, at: datetime | None = None) -> LoginResult:
        """Check a password; `max_failures` wrong ones in a row lock the account for `lockout` minutes."""
        now = at or utcnow()
        generic = "identifiant ou mot de passe incorrect"
        try:
            name = normalize_username(username)
        except UserError:
            name = ""
        row = self.store.conn.execute(
            f"SELECT {_COLUMNS} FROM users WHERE username = ?", [name]).fetchone() if name else None
        if row is None:
            _verify(_DUMMY_HASH, password)
            return LoginResult(None, generic)
        user = _user(row)
        stored_hash = row[5]
        if user.locked_until and parse_time(user.locked_until) > now:
            _verify(_DUMMY_HASH, password)
            minutes = max(1, round((parse_time(user.locked_until) - now).total_seconds() / 60))
            return LoginResult(None, f"compte verrouillé après {self.max_failures} échecs : réessayer dans "
                                     f"{minutes} min ou demander à un administrateur (vigie users passwd)")
        if user.disabled or not stored_hash or not _verify(stored_hash, password):
            self._failed(user, now)
            return LoginResult(None, generic)
        with self.store.transaction():
            self.store.conn.execute(
                "UPDATE users SET failed_logins = 0, locked_until = NULL, last_login_at = ? WHERE id = ?",
                [to_iso(now), user.id])
            if _HASHER.check_needs_rehash(stored_hash):
                self.store.conn.execute("UPDATE users SET password_hash = ? WHERE id = ?",
                                        [hash_password(password), user.id])
        return LoginResult(self.by_id(user.id))

    def _failed(self, user: User, now: datetime) -> None:
        with self.store.transaction():
            failures = self.store.conn.execute(
                "UPDATE users SET failed_logins = failed_logins + 1 WHERE id = ? RETURNING failed_logins",
                [user.id]).fetchone()[0]
            if failures >= self.max_failures:
                self.store.conn.execute("UPDATE users SET locked_until = ?, failed_logins = 0 WHERE id = ?",
                                        [to_iso(now + self.lockout), user.id])

    def touch_login(self, user: User, at: datetime | None = None) -> None:
        with self.store.transaction():
            self.store.conn.execute("UPDATE users SET last_login_at = ? WHERE id = ?",
                                    [to_iso(at or utcnow()), user.id])


def _verify(stored_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(stored_hash, password or "")
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def record_action(store: Store, actor: str, action: str, *, role: str | None = None, target: str = "",
                  detail: str = "", status: int | None = None, at: datetime | None = None) -> None:
    """One line of the journal of who did what (kept with the store, shown to administrators)."""
    with store.transaction():
        store.conn.execute(
            "INSERT INTO user_actions (at, actor, role, action, target, detail, status) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [to_iso(at or utcnow()), actor[:120], role, action[:80], target[:200], detail[:500], status],
        )


def recent_actions(store: Store, limit: int = 100) -> list[dict[str, Any]]:
    rows = store.conn.execute(
        "SELECT at, actor, role, action, target, detail, status FROM user_actions ORDER BY id DESC LIMIT ?", [limit])
    return [dict(zip(("at", "actor", "role", "action", "target", "detail", "status"), row, strict=True))
            for row in rows]
