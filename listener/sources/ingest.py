"""HTTP ingest: `POST /api/ingest` takes a JSON batch of mentions from any other tool.

Authentication: `Authorization: Bearer <token>`, the token being read from the environment variable
named by `web.ingest_token_env`; without that variable the endpoint refuses everything (503), so it is
never open by accident. The body is a JSON array of mentions (the `Mention.to_dict` form), or an
object `{"mentions": [...]}`; at most MAX_ITEMS per request.

Each item is validated on its own: a bad one is rejected with the field and the problem, kept in
`rejected_payloads` for audit, and the good ones of the same batch go through the real pipeline. The
answer waits (up to WAIT_SECONDS) until the pipeline has stored them, so a caller that gets `stored`
knows the mention is in the store; `?wait=false` answers at once with `queued` (202).
An item without `source` gets "ingest"; a tool may name its own (e.g. "facebook-export").

Answer: `{"stored": n, "duplicates": n, "rejected": n, "queued": n, "results": [{"index", "status",
"external_id", "id" | "error": {"field", "problem"}}]}`; 200 when every item was taken (202 when some are
only queued), 207 when some items were rejected and others taken, 400 when every item was rejected or the
body is not a batch, 401 for a bad token. Bad input never gets a 5xx.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web

from listener.errors import InvalidMention
from listener.host import Host, Key
from listener.models import Mention
from listener.sanitize import neutralise
from listener.settings_base import secret_from_env
from listener.sources.text import trim_raw
from listener.store import store_fault
from listener.web import get_app

if TYPE_CHECKING:
    from listener.app import Vigie

log = logging.getLogger("vigie.ingest")

DEFAULT_SOURCE = "ingest"
MAX_ITEMS = 5_000
WAIT_SECONDS = 10.0
MAX_RAW_CHARS = 20_000
# Spooled mentions were checked on arrival; the future-date check is not made twice.
MAX_DATE = datetime(9000, 1, 1, tzinfo=UTC)


@dataclass
class IngestStats:
    requests: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    unauthorized: int = 0
    last_error: str | None = None
    feeder: SpoolFeeder | None = None

    def report(self, app: Vigie) -> dict[str, Any]:
        enabled = secret_from_env(app.settings.web.ingest_token_env) is not None
        return {"state": "ok" if enabled else "disabled", "requests": self.requests, "stored": self.stored,
                "duplicates": self.duplicates, "rejected": self.rejected, "unauthorized": self.unauthorized,
                "last_error": self.last_error}


def _error(status: int, message: str, **headers: str) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=headers or None)


def _authorised(request: web.Request, token: str) -> bool:
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


async def handle_ingest(request: web.Request) -> web.Response:
    app = get_app(request)
    stats = app.find(INGEST) or IngestStats()
    stats.requests += 1
    token = secret_from_env(app.settings.web.ingest_token_env)
    if token is None:
        return _error(503, f"ingestion désactivée : la variable d'environnement {app.settings.web.ingest_token_env} "
                           "n'est pas définie / ingest disabled: token variable not set")
    if not _authorised(request, token):
        stats.unauthorized += 1
        return _error(401, "jeton d'ingestion manquant ou invalide / missing or invalid ingest token",
                      **{"WWW-Authenticate": 'Bearer realm="vigie-ingest"'})
    unavailable = _unavailable(app)
    if unavailable is not None:
        stats.last_error = unavailable
        return _error(503, f"{unavailable} : réessayez plus tard / store unavailable, retry later",
                      **{"Retry-After": "5"})
    try:
        body = await request.json(loads=json.loads)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        problem = "nested too deeply" if isinstance(exc, RecursionError) else neutralise(str(exc))[:200]
        stats.last_error = f"invalid JSON: {problem}"
        return _error(400, f"corps JSON invalide / invalid JSON body: {problem}")
    items = body.get("mentions") if isinstance(body, dict) else body
    if not isinstance(items, list):
        return _error(400, "un tableau de mentions est attendu (ou {\"mentions\": [...]}) / a JSON array is expected")
    if len(items) > MAX_ITEMS:
        return _error(413, f"au plus {MAX_ITEMS} mentions par requête / at most {MAX_ITEMS} items per request")
    wait = request.query.get("wait", "true").lower() not in ("0", "false", "no")

    results: list[dict[str, Any]] = [{} for _ in items]
    accepted: list[tuple[int, Mention]] = []
    seen: set[tuple[str, str]] = set()
    rejected: list[tuple[str, Any]] = []
    for index, item in enumerate(items):
        external_id = item.get("external_id") if isinstance(item, dict) else None
        if not isinstance(external_id, str | int) or isinstance(external_id, bool):
            external_id = None
        elif isinstance(external_id, str):
            external_id = neutralise(external_id[:200])
        try:
            mention = Mention.from_dict(item, default_source=DEFAULT_SOURCE)
        except Exception as exc:  # bad input is this item's problem, never a 5xx for the batch
            field, problem = (exc.field, exc.problem) if isinstance(exc, InvalidMention) else ("(item)", "unreadable")
            results[index] = {"index": index, "status": "rejected", "external_id": external_id,
                              "error": {"field": field, "problem": problem}}
            rejected.append((f"ingest item {index}: {field}: {problem}", item))
            continue
        mention.id = None  # ids are the store's, never the caller's
        mention.labels = None  # classification is the pipeline's
        if mention.raw is not None:
            mention.raw = trim_raw(mention.raw, MAX_RAW_CHARS)
        key = (mention.source, mention.external_id)
        if key in seen:
            results[index] = {"index": index, "status": "duplicate", "external_id": mention.external_id}
            continue
        seen.add(key)
        accepted.append((index, mention))

    if rejected:
        _keep_rejected(app, rejected)

    # Already stored: answered at once, not queued again.
    by_source: dict[str, list[tuple[int, Mention]]] = {}
    for index, mention in accepted:
        by_source.setdefault(mention.source, []).append((index, mention))
    pending: dict[str, list[tuple[int, Mention]]] = {}
    for source, group in by_source.items():
        known = app.store.known_external_ids(source, [m.external_id for _, m in group])
        for index, mention in group:
            if mention.external_id in known:
                results[index] = {"index": index, "status": "duplicate", "external_id": mention.external_id}
            else:
                pending.setdefault(source, []).append((index, mention))

    not_stored: str | None = None
    if pending and not wait:
        not_stored = await _spool(app, pending, results, stats.feeder)
    elif pending:
        not_stored = await _store_now(app, pending, results)
    counts = {status: sum(1 for r in results if r["status"] == status)
              for status in ("stored", "duplicate", "rejected", "queued", "error")}
    stats.stored += counts["stored"]
    stats.duplicates += counts["duplicate"]
    stats.rejected += counts["rejected"]
    if counts["rejected"]:
        first = next(r for r in results if r["status"] == "rejected")
        stats.last_error = f"item {first['index']}: {first['error']['field']}: {first['error']['problem']}"
        log.warning("ingest: %d of %d items rejected (first: %s)", counts["rejected"], len(items), stats.last_error)
    status = 200
    if not_stored is not None:
        status = 503  # nothing of what is marked "error" was kept: the caller sends it again
    elif items and counts["rejected"] == len(items):
        status = 400
    elif counts["rejected"]:
        status = 207  # some items in, some refused: each result says which and why
    elif not wait and counts["queued"]:
        status = 202
    return web.json_response(
        {"stored": counts["stored"], "duplicates": counts["duplicate"], "rejected": counts["rejected"],
         "queued": counts["queued"], "not_stored": counts["error"], "results": results}
        | ({"error": f"{not_stored} : réessayez plus tard / store unavailable, retry later"} if not_stored else {}),
        status=status,
        headers={"Retry-After": "5"} if not_stored else None,
    )


def _keep_rejected(app: Vigie, rejected: list[tuple[str, Any]]) -> None:
    """Rejected items are kept for audit under the ingest source (an attacker's `source` string is
    neither a metric label nor trusted); a store that cannot take them does not fail the answer."""
    app.metrics.invalid_payloads.labels(source=DEFAULT_SOURCE).inc(len(rejected))
    try:
        with app.store.transaction():
            for reason, item in rejected:
                app.store.reject(DEFAULT_SOURCE, reason, item)
    except Exception as exc:
        log.warning("ingest: %d rejected items could not be kept for audit: %s", len(rejected), exc)


def _unavailable(app: Vigie) -> str | None:
    """Why nothing can be taken now (shutting down, store refusing writes), in French; None: open."""
    if app.stopping.is_set():
        return "arrêt du service en cours"
    if app.pipeline.fault is not None:
        return f"stockage impossible ({app.pipeline.fault})"
    return None


def _not_stored(results: list[dict[str, Any]], group: list[tuple[int, Mention]], reason: str) -> None:
    for index, mention in group:
        results[index] = {"index": index, "status": "error", "external_id": mention.external_id,
                          "error": {"field": "(store)", "problem": reason}}


async def _store_now(
    app: Vigie, pending: dict[str, list[tuple[int, Mention]]], results: list[dict[str, Any]]
) -> str | None:
    """Wait for the commit (up to WAIT_SECONDS): « stored » is only said of a committed mention; what
    did not make it is answered as an error (503) for the caller to send again."""
    futures = {source: await app.pipeline.submit([m for _, m in group], source=source)
               for source, group in pending.items()}
    done, _ = await asyncio.wait([asyncio.shield(f) for f in futures.values()], timeout=WAIT_SECONDS)
    failure: str | None = None
    for source, group in pending.items():
        future = futures[source]
        if not future.done():
            failure = "pas encore enregistré dans le délai"
            _not_stored(results, group, failure)
            continue
        error = future.exception()
        if error is not None:
            failure = getattr(error, "reason", None) or "erreur interne du traitement"
            _not_stored(results, group, failure)
            continue
        stored_ids = {m.external_id: m.id for m in future.result()}
        unseen = [m.external_id for _, m in group if m.external_id not in stored_ids]
        known = app.store.known_external_ids(source, unseen) if unseen else set()
        for index, mention in group:
            if mention.external_id in stored_ids:
                results[index] = {"index": index, "status": "stored", "external_id": mention.external_id,
                                  "id": stored_ids[mention.external_id]}
            elif mention.external_id in known:
                results[index] = {"index": index, "status": "duplicate", "external_id": mention.external_id}
            else:
                results[index] = {"index": index, "status": "rejected", "external_id": mention.external_id,
                                  "error": {"field": "(item)", "problem": "refused by the pipeline"}}
    return failure


async def _spool(
    app: Vigie, pending: dict[str, list[tuple[int, Mention]]], results: list[dict[str, Any]],
    feeder: SpoolFeeder | None,
) -> str | None:
    """`wait=false`: « queued » is said once the mentions are committed to the spool (they survive a
    SIGTERM or a SIGKILL); the spool feeder hands them to the pipeline."""
    try:
        await asyncio.to_thread(_spool_all, app, pending)
    except Exception as exc:
        reason = store_fault(exc) or f"{type(exc).__name__}"
        log.error("ingest: could not spool %d mentions: %s", sum(len(g) for g in pending.values()), reason)
        for group in pending.values():
            _not_stored(results, group, reason)
        return reason
    for group in pending.values():
        for index, mention in group:
            results[index] = {"index": index, "status": "queued", "external_id": mention.external_id}
    if feeder is not None:
        feeder.nudge()
    return None


def _spool_all(app: Vigie, pending: dict[str, list[tuple[int, Mention]]]) -> None:
    with app.store.transaction():
        for source, group in pending.items():
            app.store.spool(source, [mention.to_dict() for _, mention in group])


class SpoolFeeder:
    """Hands spooled mentions to the pipeline, oldest first; the pipeline deletes each spool row in the
    transaction that stores its mention, so after a crash the spool holds exactly what is not stored."""

    def __init__(self, app: Host) -> None:
        self.app = app
        self.wake = asyncio.Event()
        self.fed = 0
        self.bad = 0

    def nudge(self) -> None:
        self.wake.set()

    async def run(self) -> None:
        last_id = 0
        while True:
            rows = self.app.store.spooled_after(last_id, limit=1000)
            if not rows:
                self.wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), 1.0)
                continue
            by_source: dict[str, tuple[list[Mention], list[int]]] = {}
            for row_id, source, payload in rows:
                try:
                    mention = Mention.from_dict(json.loads(payload), default_source=source, now=MAX_DATE)
                except Exception:
                    # Checked before it was spooled: only a hand-edited row can get here.
                    self.bad += 1
                    log.exception("spooled mention #%d unreadable: moved to rejected_payloads", row_id)
                    with self.app.store.transaction():
                        self.app.store.reject(source, f"spool #{row_id}: unreadable", payload)
                        self.app.store.unspool([row_id])
                    continue
                mentions, ids = by_source.setdefault(source, ([], []))
                mentions.append(mention)
                ids.append(row_id)
            for source, (mentions, ids) in by_source.items():
                await self.app.pipeline.put(mentions, source=source, spool_ids=ids)
                self.fed += len(mentions)
            last_id = rows[-1][0]

    def health(self) -> dict[str, Any]:
        return {"state": "ok", "spooled": self.app.store.spool_size(), "fed": self.fed}


INGEST: Key[IngestStats] = Key("ingest")


def setup(host: Host) -> IngestStats:
    feeder = SpoolFeeder(host)
    stats = IngestStats(feeder=feeder)
    host.add_routes([web.post("/api/ingest", handle_ingest)])
    host.add_health("ingest", lambda: stats.report(host))
    host.add_component("ingest:spool", feeder.run, health=feeder.health)
    host.provide(INGEST, stats)
    return stats
