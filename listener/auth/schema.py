"""Tables of the workspace's accounts: users, their sessions and the journal of what each one did."""

from __future__ import annotations

import sqlite_utils

from listener.store.migrations import Migration


def _auth_0001_users(db: sqlite_utils.Database) -> None:
    db.executescript(
        """
        -- Named accounts of the workspace. password_hash is argon2id (NULL for single-sign-on only accounts).
        CREATE TABLE users (
            id INTEGER PRIMARY KEY,
            username TEXT NOT NULL UNIQUE COLLATE NOCASE,
            display_name TEXT NOT NULL DEFAULT '',
            email TEXT,
            role TEXT NOT NULL,
            password_hash TEXT,
            oidc_subject TEXT UNIQUE,
            disabled INTEGER NOT NULL DEFAULT 0,
            failed_logins INTEGER NOT NULL DEFAULT 0,
            locked_until TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            last_login_at TEXT
        );

        -- Browser sessions. Only a hash of the cookie's token is stored: a copy of the base opens no session.
        CREATE TABLE user_sessions (
            token_hash TEXT PRIMARY KEY,
            user_id INTEGER NOT NULL REFERENCES users(id),
            csrf_token TEXT NOT NULL,
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            last_seen_at TEXT NOT NULL,
            via TEXT NOT NULL DEFAULT 'password'
        );
        CREATE INDEX idx_user_sessions_user ON user_sessions (user_id);

        -- Who did what from the workspace or the API (login, ack, silence, crisis level, approve, publish…).
        CREATE TABLE user_actions (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            actor TEXT NOT NULL,
            role TEXT,
            action TEXT NOT NULL,
            target TEXT NOT NULL DEFAULT '',
            detail TEXT NOT NULL DEFAULT '',
            status INTEGER
        );
        CREATE INDEX idx_user_actions_at ON user_actions (at);
        """
    )


MIGRATIONS = [Migration("auth_0001_users", _auth_0001_users)]
