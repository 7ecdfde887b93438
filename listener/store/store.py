"""Mentions, cursors, counters and signals in SQLite.

Writes happen in short batched transactions on one connection owned by the event loop's thread.
Other areas keep their own repositories (rules/, alerts/) over `store.db`; this class holds only
what the listening side needs.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from datetime import datetime, timedelta
from pathlib import Path
from sys import intern
from typing import Any, NamedTuple

import orjson
import sqlite_utils

from classifiers.types import Classification
from listener.errors import VigieError
from listener.models import MAX_INTEGER, Mention, Signal
from listener.store.migrations import MIGRATIONS, Migration, migrate
from listener.timeutil import parse_time, to_iso, utcnow


class MentionText(NamedTuple):
    """What detection reads of a mention to find its terms (not a whole Mention: reads stay cheap)."""

    id: int
    created_at: datetime
    author: str | None
    text: str


class LabelledText(NamedTuple):
    """A mention's text with its sentiment and topic names (what trending needs)."""

    id: int
    text: str
    sentiment: str | None
    topics: list[str]


def _topic_names(value: str | None) -> list[str]:
    try:
        names = json.loads(value or "[]")
    except (TypeError, ValueError):
        return []
    return [name for name in names if isinstance(name, str)] if isinstance(names, list) else []


def _dumps(value: Any) -> str:
    """Compact UTF-8 JSON (orjson also serialises the Classification dataclass directly)."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode("utf-8")


_MENTION_COLUMNS = (
    "source, external_id, url, author_handle, author_name, author_followers, text, lang, created_at, "
    "collected_at, likes, reposts, replies, matched, raw, sentiment, sentiment_score, topics, hostile, "
    "crisis, labels"
)
# What the stages that follow the store (rules, evidence) read: every column but the source's payload
# (`raw`), which none of them uses and which, at 1,000 mentions/s, is ~1 KB of Python objects per mention
# held for a minute (bench/bench_load.py).
_FOLLOWED_COLUMNS = (
    "id, source, external_id, url, author_handle, author_name, author_followers, text, lang, created_at, "
    "collected_at, likes, reposts, replies, matched, labels"
)
_INSERT_MENTION = (
    f"INSERT OR IGNORE INTO mentions ({_MENTION_COLUMNS}) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_UPSERT_COUNT = "INSERT INTO counts (key, bucket, n) VALUES (?, ?, ?) ON CONFLICT(key, bucket) DO UPDATE SET n = n + excluded.n"
# Rows per multi-row INSERT. sqlite3's executemany gives up and takes back the GIL around every row's
# step; under load (the event loop parsing the next batch) each take-back waits for the other thread, so
# one statement per ROWS_PER_STATEMENT rows keeps the writer off that convoy (and binds in one call).
ROWS_PER_STATEMENT = 128


def _multi_row(sql: str, rows: int) -> str:
    """`sql` (an INSERT ... VALUES (...) [ON CONFLICT ...]) with its VALUES group repeated `rows` times."""
    head, _, rest = sql.partition(" VALUES ")
    group_end = rest.index(")") + 1
    return f"{head} VALUES {', '.join([rest[:group_end]] * rows)}{rest[group_end:]}"


_STATEMENTS: dict[tuple[str, int], str] = {}


def execute_rows(conn: sqlite3.Connection, sql: str, rows: Sequence[Sequence[Any]]) -> None:
    """What `conn.executemany(sql, rows)` does, in multi-row statements of at most ROWS_PER_STATEMENT rows
    (the rest split in powers of two, so a handful of distinct statements stay in sqlite3's cache)."""
    start, total = 0, len(rows)
    while start < total:
        size = min(ROWS_PER_STATEMENT, 1 << ((total - start).bit_length() - 1))
        statement = _STATEMENTS.get((sql, size))
        if statement is None:
            statement = _STATEMENTS[(sql, size)] = _multi_row(sql, size)
        conn.execute(statement, [value for row in rows[start : start + size] for value in row])
        start += size


class StoreOpenError(VigieError):
    """The store file cannot be opened or migrated at start-up (shown without a traceback)."""


class StoreUnavailable(Exception):
    """The store cannot take writes right now (disk full, read-only, locked by another process).

    Nothing was written: the caller keeps what it holds (a batch, a cursor) and tries again later;
    /healthz says why, and ingest answers 503 meanwhile."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


# SQLite's messages for the faults that are the machine's, not the data's (sqlite3 maps them all to
# OperationalError): French reason shown in /healthz and ingest answers.
_FAULTS = (
    ("database or disk is full", "disque plein"),
    ("readonly", "base en lecture seule"),
    ("read-only", "base en lecture seule"),
    ("database is locked", "base verrouillée par un autre processus"),
    ("database table is locked", "base verrouillée par un autre processus"),
    ("disk i/o error", "erreur d'entrée-sortie du disque"),
    ("unable to open", "fichier de la base inaccessible"),
)


def store_fault(exc: BaseException) -> str | None:
    """The reason a write failed because of the store itself (retry later), or None (bad data)."""
    if isinstance(exc, StoreUnavailable):
        return exc.reason
    if isinstance(exc, OSError) and exc.errno == 28:
        return "disque plein"
    if isinstance(exc, sqlite3.OperationalError | sqlite3.DatabaseError) and not isinstance(exc, sqlite3.IntegrityError):
        message = str(exc).lower()
        for needle, reason in _FAULTS:
            if needle in message:
                return reason
    return None


class Store:
    """One SQLite file. Each thread gets its own connection (the event loop's, the pipeline's, the
    evaluation's), so a write transaction on one thread never mixes with statements of another; SQLite's
    write lock (BEGIN IMMEDIATE, busy timeout) lets one writer in at a time, in this process or another.

    `migrations`: the schema to bring it to (the core tables by default; the daemon and the CLI open it
    through `listener.areas.open_store`, which hands in every area's migrations)."""

    def __init__(
        self, path: Path | str, *, migrate_schema: bool = True, migrations: Sequence[Migration] = MIGRATIONS,
        busy_timeout_ms: int = 5000,
    ) -> None:
        self.path = Path(path)
        self.memory = str(path) == ":memory:"
        if not self.memory:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self.busy_timeout_ms = busy_timeout_ms
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()
        try:
            self._primary = self._open()
            self._local.conn = self._primary
            self.applied_migrations = migrate(self.db, migrations) if migrate_schema else []
        except sqlite3.Error as exc:
            reason = store_fault(exc) or str(exc)
            raise StoreOpenError(
                f"base {self.path} inutilisable ({reason}) : vérifiez le disque et les droits / "
                f"store {self.path} unusable: {exc}"
            ) from exc

    def _open(self) -> sqlite3.Connection:
        uri = getattr(self, "read_only_uri", None)
        if uri is not None:  # Store.read_only: every thread's connection is read-only too
            conn = sqlite3.connect(uri, uri=True, check_same_thread=False)
            conn.execute(f"PRAGMA busy_timeout={int(self.busy_timeout_ms)}")
            with self._connections_lock:
                self._connections.append(conn)
            return conn
        conn = sqlite3.connect(str(self.path) if not self.memory else ":memory:", isolation_level=None,
                               check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute(f"PRAGMA busy_timeout={int(self.busy_timeout_ms)}")
        # 8 MB of page cache per connection (one per thread); the pipeline's writer takes more (bulk_writer).
        conn.execute("PRAGMA cache_size=-8192")
        conn.execute("PRAGMA temp_store=MEMORY")
        # Checkpoint the WAL every ~40 MB rather than every 4 MB: fewer stalls during ingest bursts.
        conn.execute("PRAGMA wal_autocheckpoint=10000")
        with self._connections_lock:
            self._connections.append(conn)
        return conn

    @property
    def conn(self) -> sqlite3.Connection:
        """This thread's connection (an in-memory store has only one, shared)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._primary if self.memory else self._open()
            self._local.conn = conn
        return conn

    @property
    def db(self) -> sqlite_utils.Database:
        """sqlite-utils over this thread's connection."""
        db = getattr(self._local, "db", None)
        if db is None or db.conn is not self.conn:
            db = sqlite_utils.Database(self.conn)
            self._local.db = db
        return db

    def bulk_writer(self) -> None:
        """This thread writes the mention batches: a 16 MB page cache (the other threads' connections keep
        8 MB). 64 MB was ~30 MiB more of the daemon's memory after a minute at 1,000 mentions/s (bench_load)
        for about 6 % less ingest CPU, within this machine's noise (bench_ingest: 0.34–0.44 of raw either way)."""
        self.conn.execute("PRAGMA cache_size=-16384")

    def reopen(self) -> None:
        """Drop this thread's connection (the next use opens a fresh one): a connection SQLite opened on a
        read-only file stays read-only after the file is writable again."""
        conn = getattr(self._local, "conn", None)
        if conn is None or self.memory:
            return
        self._local.conn = None
        self._local.db = None
        with self._connections_lock:
            if conn in self._connections:
                self._connections.remove(conn)
        with suppress(sqlite3.Error):
            conn.close()
        if conn is self._primary:
            self._primary = self._open()
            self._local.conn = self._primary

    @classmethod
    def read_only(cls, path: Path | str) -> Store:
        """The same file opened read-only on its own connection: reads from a worker thread while the
        daemon's connection stays the event loop's (nothing can be written through this one)."""
        store = cls.__new__(cls)
        store.path = Path(path)
        store.memory = False
        store.busy_timeout_ms = 5000
        store.read_only_uri = f"{store.path.resolve().as_uri()}?mode=ro"
        store._local = threading.local()
        store._connections = []
        store._connections_lock = threading.Lock()
        store._primary = store._open()
        store._local.conn = store._primary
        store.applied_migrations = []
        return store

    def close(self) -> None:
        with self._connections_lock:
            connections, self._connections = self._connections, []
        for conn in connections:
            with suppress(sqlite3.Error):
                conn.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One atomic write; nested calls (on the same thread) join the outer transaction."""
        local = self._local
        if getattr(local, "in_transaction", False):
            yield
            return
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        local.in_transaction = True
        try:
            yield
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        else:
            try:
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        finally:
            local.in_transaction = False

    # -- mentions ---------------------------------------------------------------------------------

    def known_external_ids(self, source: str, external_ids: Iterable[str]) -> set[str]:
        ids = list(external_ids)
        known: set[str] = set()
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self.conn.execute(
                f"SELECT external_id FROM mentions WHERE source = ? AND external_id IN ({marks})",
                [source, *chunk],
            )
            known.update(row[0] for row in rows)
        return known

    def recent_keys(self, limit: int) -> list[tuple[str, str]]:
        """The (source, external_id) of the most recently stored mentions, newest first."""
        rows = self.conn.execute("SELECT source, external_id FROM mentions ORDER BY id DESC LIMIT ?", [limit])
        return [(row[0], row[1]) for row in rows]

    def insert_mentions(self, mentions: Iterable[Mention]) -> list[Mention]:
        """Insert, skipping any (source, external_id) already stored; return the new ones with ids.

        The common case (every mention new) is one executemany; when the unique index turns some away,
        the batch is redone row by row inside a savepoint to learn which ones were new.
        """
        batch = list(mentions)
        if not batch:
            return []
        rows = [self._row(mention) for mention in batch]
        with self.transaction():
            before = self.conn.total_changes
            self.conn.execute("SAVEPOINT insert_batch")
            cursor = self.conn.cursor()
            execute_rows(self.conn, _INSERT_MENTION, rows)
            if self.conn.total_changes - before == len(rows):
                self.conn.execute("RELEASE insert_batch")
                last_id = self.conn.execute("SELECT last_insert_rowid()").fetchone()[0]
                first_id = last_id - len(rows) + 1
                for offset, mention in enumerate(batch):
                    mention.id = first_id + offset
                inserted = batch
            else:
                self.conn.execute("ROLLBACK TO insert_batch")
                self.conn.execute("RELEASE insert_batch")
                inserted = []
                for mention, row in zip(batch, rows, strict=True):
                    cursor.execute(_INSERT_MENTION, row)
                    if cursor.rowcount == 1:
                        mention.id = cursor.lastrowid
                        inserted.append(mention)
            if inserted:
                self._index_text(inserted[0].id, inserted[-1].id)
        return inserted

    @staticmethod
    def _row(mention: Mention) -> tuple[Any, ...]:
        labels = mention.labels
        return (
            mention.source,
            mention.external_id,
            mention.url,
            mention.author_handle,
            mention.author_name,
            mention.author_followers,
            mention.text,
            mention.lang,
            to_iso(mention.created_at),
            to_iso(mention.collected_at),
            mention.likes,
            mention.reposts,
            mention.replies,
            _dumps(mention.matched) if mention.matched else "[]",
            _dumps(mention.raw) if mention.raw is not None else None,
            labels.sentiment if labels else None,
            labels.sentiment_score if labels else None,
            _dumps(labels.topic_names) if labels and labels.topics else "[]",
            int(labels.hostile) if labels else 0,
            _dumps(labels.crisis_kinds) if labels and labels.crisis else "[]",
            _dumps(labels) if labels else None,
        )

    def _index_text(self, first_id: int, last_id: int) -> None:
        """Add a batch of new rows to the full-text index in one statement."""
        self.conn.execute(
            "INSERT INTO mentions_fts (rowid, text, author_handle) "
            "SELECT id, text, author_handle FROM mentions WHERE id BETWEEN ? AND ?",
            [first_id, last_id],
        )

    def count_mentions(self) -> int:
        return self.conn.execute("SELECT count(*) FROM mentions").fetchone()[0]

    def _rows_to_mentions(self, cursor: sqlite3.Cursor) -> list[Mention]:
        """Mentions of `SELECT *` or `SELECT {_FOLLOWED_COLUMNS}` rows (without `raw`: raw=None). Source and
        language names are interned: the rules hold a minute of mentions, and they repeat."""
        names = [description[0] for description in cursor.description]
        with_raw = "raw" in names
        loads = orjson.loads
        mentions = []
        for row in cursor:
            record = dict(zip(names, row, strict=True))
            labels = record["labels"]
            matched = record["matched"]
            raw = record["raw"] if with_raw else None
            mentions.append(
                Mention(
                    id=record["id"],
                    source=intern(record["source"]),
                    external_id=record["external_id"],
                    url=record["url"],
                    author_handle=record["author_handle"],
                    author_name=record["author_name"],
                    author_followers=record["author_followers"],
                    text=record["text"],
                    lang=intern(record["lang"]) if record["lang"] else record["lang"],
                    created_at=parse_time(record["created_at"]),
                    collected_at=parse_time(record["collected_at"]),
                    likes=record["likes"],
                    reposts=record["reposts"],
                    replies=record["replies"],
                    matched=loads(matched) if matched and matched != "[]" else [],
                    raw=loads(raw) if raw else None,
                    labels=Classification.from_dict(loads(labels)) if labels else None,
                )
            )
        return mentions

    def get_mentions(self, ids: Iterable[int]) -> list[Mention]:
        wanted = list(ids)
        if not wanted:
            return []
        marks = ",".join("?" * len(wanted))
        cursor = self.conn.execute(f"SELECT * FROM mentions WHERE id IN ({marks}) ORDER BY created_at", wanted)
        return self._rows_to_mentions(cursor)

    def mentions_between(
        self, start: datetime, end: datetime, *, after_id: int = 0, limit: int | None = None
    ) -> list[Mention]:
        """Mentions created in [start, end), oldest first, without their payload (raw=None)."""
        sql = f"SELECT {_FOLLOWED_COLUMNS} FROM mentions WHERE created_at >= ? AND created_at < ? AND id > ? ORDER BY created_at, id"
        params: list[Any] = [to_iso(start), to_iso(end), after_id]
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return self._rows_to_mentions(self.conn.execute(sql, params))

    def mentions_stored_after(self, after_id: int, until: datetime | None, limit: int = 10_000) -> list[Mention]:
        """Mentions stored since a row id, created before `until` (None: whenever), without their payload
        (raw=None): how later stages follow the store."""
        if until is None:
            cursor = self.conn.execute(f"SELECT {_FOLLOWED_COLUMNS} FROM mentions WHERE id > ? ORDER BY id LIMIT ?",
                                       [after_id, limit])
        else:
            cursor = self.conn.execute(
                f"SELECT {_FOLLOWED_COLUMNS} FROM mentions WHERE id > ? AND created_at < ? ORDER BY id LIMIT ?",
                [after_id, to_iso(until), limit],
            )
        return self._rows_to_mentions(cursor)

    def newest_mentions_between(
        self, start: datetime, end: datetime, limit: int, *, up_to_id: int | None = None
    ) -> list[Mention]:
        """The newest `limit` mentions created in [start, end) (and stored up to row `up_to_id`), oldest
        first: the tail of mentions_between."""
        cursor = self.conn.execute(
            f"SELECT {_FOLLOWED_COLUMNS} FROM mentions WHERE created_at >= ? AND created_at < ? AND id <= ? "
            "ORDER BY created_at DESC, id DESC LIMIT ?",
            [to_iso(start), to_iso(end), up_to_id if up_to_id is not None else MAX_INTEGER, limit],
        )
        return self._rows_to_mentions(cursor)[::-1]

    def recent_mentions(self, limit: int = 50) -> list[Mention]:
        cursor = self.conn.execute("SELECT * FROM mentions ORDER BY created_at DESC, id DESC LIMIT ?", [limit])
        return self._rows_to_mentions(cursor)

    def search(self, query: str, limit: int = 20) -> list[Mention]:
        """Full-text search; the query is quoted term by term so user input is never FTS syntax."""
        terms = [term.replace('"', '""') for term in query.split() if term.strip()]
        if not terms:
            return []
        match = " ".join(f'"{term}"' for term in terms)
        cursor = self.conn.execute(
            "SELECT mentions.* FROM mentions JOIN mentions_fts ON mentions.id = mentions_fts.rowid "
            "WHERE mentions_fts MATCH ? ORDER BY mentions_fts.rank LIMIT ?",
            [match, limit],
        )
        return self._rows_to_mentions(cursor)

    def purge_older_than(self, days: float, now: datetime | None = None) -> int:
        """Delete mentions created before now - days (personal data is not kept longer than needed)."""
        cutoff = to_iso((now or utcnow()) - timedelta(days=days))
        with self.transaction():
            self.conn.execute(
                "INSERT INTO mentions_fts (mentions_fts, rowid, text, author_handle) "
                "SELECT 'delete', id, text, author_handle FROM mentions WHERE created_at < ?",
                [cutoff],
            )
            deleted = self.conn.execute("DELETE FROM mentions WHERE created_at < ?", [cutoff]).rowcount
            cutoff_bucket = int(parse_time(cutoff).timestamp()) // 60
            self.conn.execute("DELETE FROM counts WHERE bucket < ?", [cutoff_bucket])
        return deleted

    def reject(self, source: str, error: str, payload: Any) -> None:
        """Keep a payload that could not be ingested, with the reason, for audit and replay."""
        text = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False, default=str)
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")  # lone surrogates must not lose it
        with self.transaction():
            self.conn.execute(
                "INSERT INTO rejected_payloads (source, received_at, error, payload) VALUES (?, ?, ?, ?)",
                [source, to_iso(utcnow()), error[:1000], text[:200_000]],
            )

    # -- ingest spool -------------------------------------------------------------------------------

    def spool(self, source: str, payloads: list[dict[str, Any]]) -> list[int]:
        """Keep mentions answered « queued » durably until the pipeline stores them (one commit)."""
        received = to_iso(utcnow())
        ids = []
        with self.transaction():
            for payload in payloads:
                cursor = self.conn.execute(
                    "INSERT INTO ingest_spool (source, received_at, payload) VALUES (?, ?, ?)",
                    [source, received, _dumps(payload)],
                )
                ids.append(cursor.lastrowid)
        return ids

    def spooled_after(self, after_id: int, limit: int = 1000) -> list[tuple[int, str, str]]:
        """(id, source, payload JSON) of spooled mentions not stored yet, oldest first."""
        return self.conn.execute(
            "SELECT id, source, payload FROM ingest_spool WHERE id > ? ORDER BY id LIMIT ?", [after_id, limit]
        ).fetchall()

    def unspool(self, ids: list[int]) -> None:
        """Called in the transaction that stores those mentions."""
        if ids:
            with self.transaction():
                self.conn.executemany("DELETE FROM ingest_spool WHERE id = ?", [(i,) for i in ids])

    def spool_size(self) -> int:
        return self.conn.execute("SELECT count(*) FROM ingest_spool").fetchone()[0]

    # -- cursors ----------------------------------------------------------------------------------

    def get_cursor(self, source: str) -> str | None:
        row = self.conn.execute("SELECT cursor FROM cursors WHERE source = ?", [source]).fetchone()
        return row[0] if row else None

    def set_cursor(self, source: str, cursor: str | None) -> None:
        with self.transaction():
            self.conn.execute(
                "INSERT INTO cursors (source, cursor, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT(source) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at",
                [source, cursor, to_iso(utcnow())],
            )

    # -- counters ---------------------------------------------------------------------------------

    def add_counts(self, counts: Mapping[tuple[str, int], int]) -> None:
        if not counts:
            return
        with self.transaction():
            execute_rows(self.conn, _UPSERT_COUNT, [(key, bucket, n) for (key, bucket), n in counts.items()])

    def counts_between(
        self, start_bucket: int, end_bucket: int, key_prefix: str | None = None
    ) -> list[tuple[str, int, int]]:
        """(key, bucket, n) rows for buckets in [start, end), optionally for keys with a prefix."""
        sql = "SELECT key, bucket, n FROM counts WHERE bucket >= ? AND bucket < ?"
        params: list[Any] = [start_bucket, end_bucket]
        if key_prefix:
            sql += " AND key >= ? AND key < ?"
            params += [key_prefix, key_prefix + "\uffff"]
        return [tuple(row) for row in self.conn.execute(sql, params)]

    def count_keys(self) -> list[str]:
        return [row[0] for row in self.conn.execute("SELECT DISTINCT key FROM counts")]

    # -- signals ----------------------------------------------------------------------------------

    def add_signals(self, signals: Iterable[Signal]) -> list[Signal]:
        stored = []
        with self.transaction():
            for signal in signals:
                cursor = self.conn.execute(
                    "INSERT INTO signals (kind, key, at, started_at, score, severity, observed, expected, details) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        signal.kind,
                        signal.key,
                        to_iso(signal.at),
                        to_iso(signal.started_at) if signal.started_at else None,
                        signal.score,
                        signal.severity,
                        signal.observed,
                        signal.expected,
                        json.dumps(signal.details, ensure_ascii=False, default=str),
                    ],
                )
                signal.id = cursor.lastrowid
                stored.append(signal)
        return stored

    def signals_after(self, after_id: int, until: datetime | None = None) -> list[Signal]:
        sql = "SELECT id, kind, key, at, started_at, score, severity, observed, expected, details FROM signals WHERE id > ?"
        params: list[Any] = [after_id]
        if until is not None:
            sql += " AND at <= ?"
            params.append(to_iso(until))
        sql += " ORDER BY id"
        return [
            Signal(
                id=row[0],
                kind=row[1],
                key=row[2],
                at=parse_time(row[3]),
                started_at=parse_time(row[4]) if row[4] else None,
                score=row[5],
                severity=row[6],
                observed=row[7],
                expected=row[8],
                details=json.loads(row[9] or "{}"),
            )
            for row in self.conn.execute(sql, params)
        ]

    def last_signal_id(self, before: datetime | None = None) -> int:
        """Highest signal row id (of signals detected before a moment); 0 when none."""
        if before is None:
            return self.conn.execute("SELECT max(id) FROM signals").fetchone()[0] or 0
        return self.conn.execute("SELECT max(id) FROM signals WHERE at < ?", [to_iso(before)]).fetchone()[0] or 0

    def last_mention_id(self, created_before: datetime | None = None) -> int:
        """Highest mention row id (among mentions created before a moment); 0 when none."""
        if created_before is None:
            return self.conn.execute("SELECT max(id) FROM mentions").fetchone()[0] or 0
        row = self.conn.execute("SELECT max(id) FROM mentions WHERE created_at < ?", [to_iso(created_before)])
        return row.fetchone()[0] or 0

    # -- reads for detection (classifiers/detection/): texts and counters, not whole mentions -------------

    def first_count_bucket(self, since: int) -> int | None:
        """The earliest minute bucket holding counters, from `since` on."""
        return self.conn.execute("SELECT min(bucket) FROM counts WHERE bucket >= ?", [since]).fetchone()[0]

    def has_counts(self, key: str, start: int, end: int) -> bool:
        """Whether a counter key has any count in the buckets [start, end)."""
        return self.conn.execute(
            "SELECT 1 FROM counts WHERE key = ? AND bucket >= ? AND bucket < ? LIMIT 1", [key, start, end]
        ).fetchone() is not None

    def recent_texts(self, since: datetime, limit: int) -> list[MentionText]:
        """The newest `limit` mentions created from `since` on, newest first (id, time, author, text)."""
        rows = self.conn.execute(
            "SELECT id, created_at, author_handle, text FROM mentions WHERE created_at >= ? "
            "ORDER BY created_at DESC LIMIT ?",
            [to_iso(since), limit],
        )
        return [MentionText(row[0], parse_time(row[1]), row[2], row[3]) for row in rows]

    def texts_after(self, after_id: int, limit: int) -> list[MentionText]:
        """Mentions stored after a row id, in storage order (id, time, author, text)."""
        rows = self.conn.execute(
            "SELECT id, created_at, author_handle, text FROM mentions WHERE id > ? ORDER BY id LIMIT ?",
            [after_id, limit],
        )
        return [MentionText(row[0], parse_time(row[1]), row[2], row[3]) for row in rows]

    def labelled_texts_between(self, start: datetime, end: datetime, limit: int) -> list[LabelledText]:
        """The newest `limit` mentions created in [start, end): text, sentiment and topic names only."""
        rows = self.conn.execute(
            "SELECT id, text, sentiment, topics FROM mentions WHERE created_at >= ? AND created_at < ? "
            "ORDER BY created_at DESC LIMIT ?",
            [to_iso(start), to_iso(end), limit],
        )
        return [LabelledText(row[0], row[1], row[2], _topic_names(row[3])) for row in rows]

    def first_mention_at(self, since: datetime) -> datetime | None:
        """When the oldest mention created from `since` on was created."""
        found = self.conn.execute("SELECT min(created_at) FROM mentions WHERE created_at >= ?", [to_iso(since)])
        value = found.fetchone()[0]
        return parse_time(value) if value else None

    # -- overview ---------------------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        per_source = dict(
            self.conn.execute("SELECT source, count(*) FROM mentions GROUP BY source ORDER BY source").fetchall()
        )
        last = self.conn.execute("SELECT max(created_at) FROM mentions").fetchone()[0]
        return {"mentions": sum(per_source.values()), "per_source": per_source, "latest_mention_at": last}
