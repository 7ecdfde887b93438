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
import hmac
import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

from listener.errors import InvalidMention
from listener.host import Host, Key
from listener.models import Mention
from listener.sanitize import neutralise
from listener.settings_base import secret_from_env
from listener.sources.text import trim_raw
from listener.web import get_app

if TYPE_CHECKING:
    from listener.app import Vigie

log = logging.getLogger("vigie.ingest")

DEFAULT_SOURCE = "ingest"
MAX_ITEMS = 5_000
WAIT_SECONDS = 10.0
MAX_RAW_CHARS = 20_000


@dataclass
class IngestStats:
    requests: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    unauthorized: int = 0
    last_error: str | None = None

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
    queued: list[tuple[int, Mention]] = []
    for source, group in by_source.items():
        known = app.store.known_external_ids(source, [m.external_id for _, m in group])
        for index, mention in group:
            if mention.external_id in known:
                results[index] = {"index": index, "status": "duplicate", "external_id": mention.external_id}
            else:
                queued.append((index, mention))
        fresh = [m for _, m in group if m.external_id not in known]
        if fresh:
            await app.pipeline.put(fresh, source=source)

    if wait and queued:
        await _wait_until_stored(app, queued)
    for index, mention in queued:
        if mention.id is not None:
            results[index] = {"index": index, "status": "stored", "external_id": mention.external_id, "id": mention.id}
        elif wait and app.store.known_external_ids(mention.source, [mention.external_id]):
            results[index] = {"index": index, "status": "duplicate", "external_id": mention.external_id}
        else:
            results[index] = {"index": index, "status": "queued", "external_id": mention.external_id}

    counts = {status: sum(1 for r in results if r["status"] == status)
              for status in ("stored", "duplicate", "rejected", "queued")}
    stats.stored += counts["stored"]
    stats.duplicates += counts["duplicate"]
    stats.rejected += counts["rejected"]
    if counts["rejected"]:
        first = next(r for r in results if r["status"] == "rejected")
        stats.last_error = f"item {first['index']}: {first['error']['field']}: {first['error']['problem']}"
        log.warning("ingest: %d of %d items rejected (first: %s)", counts["rejected"], len(items), stats.last_error)
    status = 200
    if items and counts["rejected"] == len(items):
        status = 400
    elif counts["rejected"]:
        status = 207  # some items in, some refused: each result says which and why
    elif not wait and counts["queued"]:
        status = 202
    return web.json_response(
        {"stored": counts["stored"], "duplicates": counts["duplicate"], "rejected": counts["rejected"],
         "queued": counts["queued"], "results": results},
        status=status,
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


async def _wait_until_stored(app: Vigie, queued: list[tuple[int, Mention]]) -> None:
    """The pipeline sets `id` on each mention it stores; duplicates it drops are found in the store."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_SECONDS
    pending = [m for _, m in queued]
    checks = 0
    while pending and loop.time() < deadline:
        await asyncio.sleep(0.002 if checks < 50 else 0.02)
        checks += 1
        pending = [m for m in pending if m.id is None]
        if pending and checks % 10 == 0 and app.pipeline.queue.empty():
            # Queue drained but still no id: dropped as a duplicate of something stored meanwhile.
            by_source: dict[str, list[Mention]] = {}
            for mention in pending:
                by_source.setdefault(mention.source, []).append(mention)
            resolved = set()
            for source, group in by_source.items():
                for known in app.store.known_external_ids(source, [m.external_id for m in group]):
                    resolved.add((source, known))
            pending = [m for m in pending if m.id is None and (m.source, m.external_id) not in resolved]


INGEST: Key[IngestStats] = Key("ingest")


def setup(host: Host) -> IngestStats:
    stats = IngestStats()
    host.add_routes([web.post("/api/ingest", handle_ingest)])
    host.add_health("ingest", lambda: stats.report(host))
    host.provide(INGEST, stats)
    return stats
