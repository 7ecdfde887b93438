"""The mention explorer: full-text search with filters, the words that explain each label marked in the
text, and a CSV export that a spreadsheet cannot turn into formulas.

Search terms are quoted one by one (user input is never FTS5 syntax); filters are bound parameters.
Highlights are returned as text segments, never as markup: the page puts each one in a <mark> with
textContent, so a post can contain anything.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from listener.store import Store
from listener.textfold import fold
from listener.timeutil import parse_time, to_iso

SENTIMENTS = ("negative", "neutral", "positive")
MAX_LIMIT = 200
MAX_EXPORT = 50_000
_COLUMNS = ("id, source, external_id, url, author_handle, author_name, author_followers, text, created_at, "
            "likes, reposts, replies, sentiment, sentiment_score, topics, hostile, crisis, labels")
# Control characters and bidi overrides: shown as nothing, exported as nothing.
_CONTROLS = re.compile("[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069]")
# A cell a spreadsheet would read as a formula (or a DDE call) starts with one of these.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "|", "%")


class ExplorerError(ValueError):
    """A filter that cannot be understood (message in French)."""


@dataclass
class Filters:
    q: str = ""
    source: str | None = None
    topic: str | None = None
    sentiment: str | None = None
    hostile: bool | None = None
    crisis: str | None = None
    author: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    terms: list[str] = field(default_factory=list)

    @classmethod
    def from_query(cls, query: Any) -> Filters:
        def text(name: str, limit: int = 200) -> str | None:
            value = (query.get(name) or "").strip()
            return value[:limit] or None

        sentiment = text("sentiment")
        if sentiment is not None and sentiment not in SENTIMENTS:
            raise ExplorerError(f"sentiment inconnu « {sentiment[:20]} » : negative, neutral ou positive")
        hostile_value = text("hostile")
        hostile = None
        if hostile_value is not None:
            if hostile_value not in ("1", "0", "true", "false", "oui", "non"):
                raise ExplorerError("hostile : 1 ou 0")
            hostile = hostile_value in ("1", "true", "oui")
        since, until = _time(text("since"), "since"), _time(text("until"), "until")
        q = text("q", 300) or ""
        return cls(q=q, source=text("source"), topic=text("topic"), sentiment=sentiment, hostile=hostile,
                   crisis=text("crisis"), author=text("author"), since=since, until=until,
                   terms=[t for t in q.split() if t.strip()][:12])


def _time(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_time(value if "T" in value else value + "T00:00:00Z")
    except ValueError:
        raise ExplorerError(f"{name} : date invalide « {value[:30]} » (AAAA-MM-JJ ou ISO 8601)") from None


def _where(filters: Filters) -> tuple[list[str], list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if filters.source:
        clauses.append("m.source = ?")
        params.append(filters.source)
    if filters.topic:
        clauses.append("m.topics LIKE ?")  # a JSON array of topic names: match the quoted name
        params.append(f'%"{_like(filters.topic)}"%')
    if filters.sentiment:
        clauses.append("m.sentiment = ?")
        params.append(filters.sentiment)
    if filters.hostile is not None:
        clauses.append("m.hostile = ?")
        params.append(int(filters.hostile))
    if filters.crisis:
        clauses.append("m.crisis LIKE ?")
        params.append(f'%"{_like(filters.crisis)}"%')
    if filters.author:
        clauses.append("(m.author_handle = ? OR m.author_handle = ?)")
        params += [filters.author, filters.author.lstrip("@") if filters.author.startswith("@") else "@" + filters.author]
    if filters.since:
        clauses.append("m.created_at >= ?")
        params.append(to_iso(filters.since))
    if filters.until:
        clauses.append("m.created_at < ?")
        params.append(to_iso(filters.until))
    return clauses, params


def _like(value: str) -> str:
    return value.replace('"', "").replace("%", "")


def _query(filters: Filters, limit: int, offset: int) -> tuple[str, list[Any]]:
    clauses, params = _where(filters)
    if filters.terms:
        match = " ".join('"' + term.replace('"', '""') + '"' for term in filters.terms)
        sql = (f"SELECT {', '.join('m.' + c.strip() for c in _COLUMNS.split(','))} FROM mentions_fts "
               "JOIN mentions m ON m.id = mentions_fts.rowid WHERE mentions_fts MATCH ?")
        params = [match, *params]
        if clauses:
            sql += " AND " + " AND ".join(clauses)
    else:
        sql = f"SELECT {', '.join('m.' + c.strip() for c in _COLUMNS.split(','))} FROM mentions m"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
    # With a search, newest stored first straight from the full-text index (no sort of every match);
    # without one, newest first by the created_at index.
    sql += (" ORDER BY mentions_fts.rowid DESC" if filters.terms else " ORDER BY m.created_at DESC, m.id DESC")
    sql += " LIMIT ? OFFSET ?"
    return sql, [*params, limit, offset]


def search(store: Store, filters: Filters, *, limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
    sql, params = _query(filters, max(1, min(limit, MAX_LIMIT)), max(0, offset))
    names = [c.strip() for c in _COLUMNS.split(",")]
    return [present(dict(zip(names, row, strict=True)), filters.terms) for row in store.conn.execute(sql, params)]


def rows_for_export(store: Store, filters: Filters) -> Iterator[dict[str, Any]]:
    sql, params = _query(filters, MAX_EXPORT, 0)
    names = [c.strip() for c in _COLUMNS.split(",")]
    for row in store.conn.execute(sql, params):
        yield dict(zip(names, row, strict=True))


def _labels(record: dict[str, Any]) -> dict[str, Any]:
    try:
        return json.loads(record["labels"]) if record.get("labels") else {}
    except ValueError:
        return {}


def explanation_words(labels: dict[str, Any]) -> dict[str, list[str]]:
    """The words each classifier gave as its reasons, by kind (sentiment, hostility, topic, crisis)."""
    words: dict[str, list[str]] = {
        "sentiment": list(labels.get("sentiment_terms") or []) if labels.get("sentiment") != "neutral" else [],
        "hostility": list(labels.get("hostility_terms") or []) if labels.get("hostile") else [],
        "topic": [t for label in labels.get("topics") or [] for t in label.get("terms") or []],
        "crisis": [t for label in labels.get("crisis") or [] for t in label.get("terms") or []],
    }
    return {kind: [w for w in dict.fromkeys(values) if isinstance(w, str) and w.strip()] for kind, values in words.items()}


def _folded_with_index(text: str) -> tuple[str, list[int]]:
    """The folded text and, for each of its characters, the index of the original character it came from."""
    out: list[str] = []
    index: list[int] = []
    for position, char in enumerate(text):
        folded = fold(char)
        out.append(folded)
        index.extend([position] * len(folded))
    return "".join(out), index


# Kinds in order of precedence where two explanations overlap.
_PRECEDENCE = ("search", "hostility", "crisis", "topic", "sentiment")


def segments(text: str, marks: dict[str, list[str]]) -> list[list[Any]]:
    """[[piece, kind or None], ...] covering the text: each explanation word (accents and case ignored,
    whole words) marked with its kind. Plain data: the page shows each piece as text."""
    folded, index = _folded_with_index(text)
    owner: list[str | None] = [None] * len(text)
    for kind in reversed(_PRECEDENCE):
        for word in marks.get(kind, []):
            needle = fold(word.strip())
            if len(needle) < 2:
                continue
            prefix = r"(?<!\w)" if needle[0].isalnum() or needle[0] == "_" else ""
            suffix = r"(?!\w)" if kind != "search" and (needle[-1].isalnum() or needle[-1] == "_") else ""
            for match in re.finditer(prefix + re.escape(needle) + suffix, folded):
                if match.end() <= match.start():
                    continue
                first, last = index[match.start()], index[match.end() - 1]
                for position in range(first, last + 1):
                    owner[position] = kind
    pieces: list[list[Any]] = []
    for position, char in enumerate(text):
        if pieces and pieces[-1][1] == owner[position]:
            pieces[-1][0] += char
        else:
            pieces.append([char, owner[position]])
    return pieces


def clean(value: Any) -> str:
    return _CONTROLS.sub("", "" if value is None else str(value))


def present(record: dict[str, Any], search_terms: list[str]) -> dict[str, Any]:
    labels = _labels(record)
    words = explanation_words(labels)
    text = clean(record["text"])
    return {
        "id": record["id"], "source": record["source"], "url": _safe_url(record.get("url")),
        "author_handle": clean(record.get("author_handle")), "author_name": clean(record.get("author_name")),
        "author_followers": record.get("author_followers"), "created_at": record["created_at"],
        "likes": record.get("likes"), "reposts": record.get("reposts"), "replies": record.get("replies"),
        "sentiment": record.get("sentiment"), "hostile": bool(record.get("hostile")),
        "hostility_targets": labels.get("hostility_targets") or [],
        "topics": [{"name": t.get("name"), "score": t.get("score")} for t in labels.get("topics") or []],
        "crisis": [{"name": c.get("name"), "score": c.get("score")} for c in labels.get("crisis") or []],
        "explanations": words, "text": text,
        "segments": segments(text, {**words, "search": search_terms}),
    }


def _safe_url(url: str | None) -> str | None:
    """Only http(s) links to the original post (never javascript: or data:)."""
    if not url:
        return None
    url = clean(url).strip()
    return url if url.lower().startswith(("https://", "http://")) else None


def neutralise_cell(value: Any) -> str:
    """A cell that would start a formula in a spreadsheet gets a leading apostrophe (OWASP CSV injection)."""
    text = clean(value)
    if text.startswith(_FORMULA_START) or text.lstrip().startswith(_FORMULA_START[:4]):
        return "'" + text
    return text


EXPORT_HEADER = ("date (UTC)", "source", "auteur", "nom", "abonnés", "texte", "lien", "sentiment", "sujets",
                 "hostile", "crise", "j'aime", "partages", "réponses")
SENTIMENT_FR = {"negative": "négatif", "neutral": "neutre", "positive": "positif"}


def export_csv(rows: Iterator[dict[str, Any]]) -> Iterator[bytes]:
    """UTF-8 with a BOM and ';' separators (what a French spreadsheet opens right), chunk by chunk."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow(EXPORT_HEADER)
    yield ("\ufeff" + buffer.getvalue()).encode("utf-8")
    buffer.seek(0)
    buffer.truncate()
    for count, record in enumerate(rows, start=1):
        writer.writerow([neutralise_cell(v) for v in (
            record["created_at"], record["source"], record.get("author_handle"), record.get("author_name"),
            record.get("author_followers") if record.get("author_followers") is not None else "",
            record["text"], _safe_url(record.get("url")) or "", SENTIMENT_FR.get(record.get("sentiment") or "", ""),
            ", ".join(json.loads(record.get("topics") or "[]")), "oui" if record.get("hostile") else "non",
            ", ".join(json.loads(record.get("crisis") or "[]")), record.get("likes"), record.get("reposts"),
            record.get("replies"))])
        if count % 500 == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    if buffer.getvalue():
        yield buffer.getvalue().encode("utf-8")
