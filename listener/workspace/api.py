"""The workspace's JSON API: dashboard, volume chart, mention explorer and CSV export, incident context,
posting desk. Reads need any account (or the API token); the desk's actions need the `posts` permission
(the guard checks it, with the CSRF token) and are recorded under the account that made them.
Every store read and write runs off the event loop (listener/store_threads.py); the whole-period panels
run in a worker process.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from listener.auth.guard import actor_of, identity_of
from listener.store_threads import read, stream, write
from listener.timeutil import parse_time, to_iso
from listener.workspace import dashboard, desk, explorer
from rules import crisis_state, posting_queue

log = logging.getLogger("vigie.workspace")

DEFAULT_KEYS = ("all",)
MAX_HOURS = 24 * 31


def _app(request: web.Request) -> Any:
    from listener.web import get_app

    return get_app(request)


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def _hours(request: web.Request, default: float = 36) -> float:
    try:
        hours = float(request.query.get("hours", default))
    except ValueError:
        raise web.HTTPBadRequest(text='{"error": "hours doit être un nombre"}', content_type="application/json") from None
    return max(1.0, min(hours, MAX_HOURS))


def _keys(request: web.Request) -> list[str]:
    raw = request.query.get("keys", "")
    keys = [k.strip()[:120] for k in raw.split(",") if k.strip()]
    return keys[: dashboard.MAX_KEYS] or list(DEFAULT_KEYS)


def _as_of(request: web.Request) -> datetime:
    """The end of what is shown: ?until=…, else the daemon's clock (the replay's recorded time in the demo)."""
    until = request.query.get("until")
    if until:
        try:
            return parse_time(until)
        except ValueError:
            raise web.HTTPBadRequest(text='{"error": "until : date invalide"}', content_type="application/json") from None
    return _app(request).clock.now()


class Workspace:
    """Per-daemon state of the workspace API: the key names and the trending cache."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.names = key_names(app.settings)
        self.trending = dashboard.PanelCache(self._compute_trending, ttl=300.0)
        self.authors = dashboard.PanelCache(self._compute_authors, ttl=60.0)
        self.bands = dashboard.BandCache(app.settings.detectors.spikes)
        self._processes: ProcessPoolExecutor | None = None

    def _in_process(self, function, *args) -> Any:
        """Run in the worker process: reading the period's texts must not hold the daemon's GIL."""
        if self._processes is None:
            self._processes = ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("spawn"))
        return self._processes.submit(function, str(self.app.store.path), *args).result(timeout=600)

    def _compute_trending(self, key: tuple[str, int]) -> list[dict[str, Any]]:
        if str(self.app.store.path) == ":memory:":
            return []
        return self._in_process(dashboard.trending_terms, key[0], key[1],
                                self.app.settings.detectors.trending.model_dump())

    def _compute_authors(self, key: tuple[str, str, int]) -> list[dict[str, Any]]:
        if str(self.app.store.path) == ":memory:":
            return dashboard.top_authors(self.app.store, dashboard.Window(parse_time(key[0]), parse_time(key[1]), key[2]))
        return self._in_process(dashboard.top_authors_of, *key)

    def close(self) -> None:
        if self._processes is not None:
            self._processes.shutdown(wait=False, cancel_futures=True)

    async def trending_for(self, as_of: datetime, hours: int, wait: bool) -> tuple[list[dict[str, Any]] | None, bool]:
        key = (to_iso(as_of.replace(second=0, microsecond=0) - timedelta(minutes=as_of.minute % 5)), hours)
        return await self.panel(self.trending, key, wait)

    async def authors_for(self, window: dashboard.Window, wait: bool) -> tuple[list[dict[str, Any]] | None, bool]:
        return await self.panel(self.authors, (to_iso(window.start), to_iso(window.end), window.step), wait)

    async def panel(self, cache: dashboard.PanelCache, key: Any, wait: bool) -> tuple[Any, bool]:
        """(value, pending): the cached value; a refresh runs in the worker process while the loop stays free.
        The last value (even of a slightly older key) is served until the new one is ready."""
        value, stale = cache.get(key)
        if stale:
            task = asyncio.get_running_loop().run_in_executor(None, cache.refresh, key)
            if wait or value is None:
                try:
                    fresh = await asyncio.wait_for(asyncio.shield(task), 0.05 if not wait else 60)
                except TimeoutError:
                    return value, True
                deadline = asyncio.get_running_loop().time() + 60
                while fresh is None and wait and asyncio.get_running_loop().time() < deadline:
                    await asyncio.sleep(0.2)  # another request started it: wait for its result
                    latest, still = cache.get(key)
                    fresh = None if still else latest
                if fresh is None:
                    return value, True
                value = fresh
        return value, False


WORKSPACE_KEY: web.AppKey[Workspace] = web.AppKey("vigie.workspace", Workspace)


def key_names(settings: Any) -> dict[str, str]:
    """French names of topic and crisis keys, from the configured taxonomy and the crisis lexicon."""
    names: dict[str, str] = {}
    try:
        from classifiers import classifier_settings
        from classifiers.crisis import load_lexicon

        section = classifier_settings(settings.classifiers, settings.resolve)
        for topic in section.topics:
            names[f"topic:{topic.name}"] = topic.label or topic.name
        for kind, label in load_lexicon(section.crisis_lexicon).labels.items():
            names[f"crisis:{kind}"] = label
    except (OSError, ValueError) as exc:  # names only: the dashboard still works with raw keys
        log.warning("workspace: topic and crisis names unavailable: %s", exc)
    return names


def _workspace(request: web.Request) -> Workspace:
    return request.app[WORKSPACE_KEY]


def _incidents_table(store) -> bool:
    return store.conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'incidents'").fetchone() is not None


_SEVERITY_ORDER = "CASE severity WHEN 'critical' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END"


def open_incidents(store, limit: int = 20, *, everything: bool = False) -> list[dict[str, Any]]:
    """Incidents (rules' incidents table), or alerts while the incidents area is not installed; open ones
    by severity, or every one newest first."""
    table, opened, kind = ("incidents", "opened_at", "incident") if _incidents_table(store) else ("alerts", "created_at", "alert")
    where = "" if everything else "WHERE status IN ('open', 'acknowledged')"
    order = "id DESC" if everything else f"{_SEVERITY_ORDER}, updated_at DESC"
    rows = store.conn.execute(
        f"SELECT id, title, severity, status, {opened}, updated_at, acked_by FROM {table} {where} "
        f"ORDER BY {order} LIMIT ?", [limit]).fetchall()
    return [{"id": i, "title": t, "severity": s, "status": st, "opened_at": o, "updated_at": u, "acked_by": a,
             "kind": kind} for i, t, s, st, o, u, a in rows]


async def api_incident_list(request: web.Request) -> web.Response:
    everything = request.query.get("status") == "all"
    incidents = await read(request, open_incidents, _app(request).store, 200, everything=everything)
    return web.json_response({"incidents": incidents})


async def api_dashboard(request: web.Request) -> web.Response:
    """Everything the dashboard's first screen shows, in one answer."""
    app = _app(request)
    workspace = _workspace(request)
    hours = _hours(request)
    as_of = _as_of(request)
    window = dashboard.window_for(as_of, hours)
    keys = _keys(request)
    store = app.store
    now = app.clock.now()

    def gather() -> dict[str, Any]:
        volume = dashboard.volume(store, keys, window, workspace.bands, now, app.tz)
        for series in volume["series"]:
            series["label"] = dashboard.label_of(series["key"], workspace.names)
        return {
            "crisis": dashboard.crisis_history(store),
            "volume": volume, "alerts": dashboard.alert_marks(store, window),
            "shares": dashboard.shares(store, window),
            "new_terms": dashboard.new_terms(store, window),
            "incidents": open_incidents(store),
            "open_alerts": store.conn.execute("SELECT count(*) FROM alerts WHERE status = 'open'").fetchone()[0],
        }

    wait = request.query.get("wait") == "1"
    panels = await read(request, gather)
    trending, pending = await workspace.trending_for(as_of, min(int(hours), 24), wait=wait)
    authors, authors_pending = await workspace.authors_for(window, wait=wait)
    return web.json_response({
        "as_of": to_iso(as_of), "hours": hours, "institution": app.settings.institution.name,
        "crisis": panels["crisis"],
        "volume": panels["volume"], "alerts": panels["alerts"],
        "shares": panels["shares"],
        "top_authors": authors or [], "top_authors_pending": authors_pending,
        "new_terms": panels["new_terms"],
        "trending": trending or [], "trending_pending": pending,
        "incidents": panels["incidents"], "open_alerts": panels["open_alerts"],
    })


async def api_volume(request: web.Request) -> web.Response:
    app = _app(request)
    workspace = _workspace(request)
    window = dashboard.window_for(_as_of(request), _hours(request))
    keys = _keys(request)
    now = app.clock.now()

    def gather() -> dict[str, Any]:
        volume = dashboard.volume(app.store, keys, window, workspace.bands, now, app.tz)
        for series in volume["series"]:
            series["label"] = dashboard.label_of(series["key"], workspace.names)
        return {"volume": volume, "alerts": dashboard.alert_marks(app.store, window, keys)}

    return web.json_response(await read(request, gather))


async def api_volume_keys(request: web.Request) -> web.Response:
    app = _app(request)
    window = dashboard.window_for(_as_of(request), _hours(request))
    keys = await read(request, dashboard.available_keys, app.store, window, _workspace(request).names)
    return web.json_response({"keys": keys})


def _filters(request: web.Request) -> explorer.Filters:
    try:
        return explorer.Filters.from_query(request.query)
    except explorer.ExplorerError as exc:
        raise web.HTTPBadRequest(text=f'{{"error": "{exc}"}}', content_type="application/json") from None


async def api_explorer(request: web.Request) -> web.Response:
    app = _app(request)
    filters = _filters(request)
    try:
        limit = int(request.query.get("limit", "50"))
        offset = int(request.query.get("offset", "0"))
    except ValueError:
        return _error(400, "limit et offset doivent être des entiers")
    mentions = await read(request, explorer.search, app.store, filters, limit=limit, offset=offset)
    # The configured sources and those that ever moved a cursor (never a scan of the mentions).
    cursors = await read(request, lambda: [row[0] for row in app.store.conn.execute("SELECT source FROM cursors LIMIT 100")])
    sources = [s.name for s in app.settings.sources] + cursors + ["ingest"]
    names = _workspace(request).names
    return web.json_response({
        "mentions": mentions, "offset": offset, "limit": limit,
        "facets": {"sources": sorted(set(sources)),
                   "topics": [{"name": k.partition(":")[2], "label": v} for k, v in names.items() if k.startswith("topic:")],
                   "crisis": [{"name": k.partition(":")[2], "label": v} for k, v in names.items() if k.startswith("crisis:")]},
    })


async def api_explorer_csv(request: web.Request) -> web.StreamResponse:
    app = _app(request)
    filters = _filters(request)
    stamp = app.clock.now().strftime("%Y%m%d-%H%M")
    response = web.StreamResponse(headers={
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": f'attachment; filename="vigie-mentions-{stamp}.csv"',
        "Cache-Control": "no-store"})
    await response.prepare(request)
    async for chunk in stream(request, lambda: explorer.export_csv(explorer.rows_for_export(app.store, filters))):
        await response.write(chunk)
    await response.write_eof()
    return response


async def api_incident_context(request: web.Request) -> web.Response:
    """What the incident page draws beside the incident itself: the volume of its keys around it, its
    evidence mentions (with their explanation words), the crisis actions and the posts held meanwhile."""
    app = _app(request)
    try:
        item_id = int(request.match_info["id"])
    except ValueError:
        return _error(400, "identifiant invalide")
    context = await read(request, incident_context, app, _workspace(request), item_id, app.clock.now())
    if context is None:
        return _error(404, f"incident n° {item_id} introuvable")
    return web.json_response(context)


def incident_context(app: Any, workspace: Workspace, item_id: int, now: datetime) -> dict[str, Any] | None:
    store = app.store
    item = incident_item(store, item_id)
    if item is None:
        return None
    opened, updated, resolved = item["opened_at"], item["updated_at"], item["resolved_at"]
    keys, evidence = item["keys"], item["evidence"]
    start = parse_time(opened) - timedelta(hours=6)
    end = max(parse_time(resolved or updated) + timedelta(hours=2), parse_time(opened) + timedelta(hours=6))
    end = min(end, max(now, parse_time(updated)))
    hours = max(1.0, (end - start).total_seconds() / 3600)
    window = dashboard.window_for(end, hours)
    plotted = [k for k in keys if isinstance(k, str)][: dashboard.MAX_KEYS - 1] or ["all"]
    volume = dashboard.volume(store, plotted, window, workspace.bands, now, app.tz)
    names = workspace.names
    for series in volume["series"]:
        series["label"] = dashboard.label_of(series["key"], names)
    ids = [int(i) for i in evidence if isinstance(i, int | str) and str(i).isdigit()][:30]
    mentions = []
    if ids:
        marks = ",".join("?" * len(ids))
        cols = [c.strip() for c in explorer._COLUMNS.split(",")]
        for values in store.conn.execute(f"SELECT {explorer._COLUMNS} FROM mentions WHERE id IN ({marks}) "
                                         "ORDER BY created_at", ids):
            mentions.append(explorer.present(dict(zip(cols, values, strict=True)), []))
    crisis = crisis_state.journal_between(store, start, end + timedelta(hours=12))
    return {
        "item": item, "volume": volume, "alerts": dashboard.alert_marks(store, window, plotted),
        "evidence": mentions, "held_posts": _held_posts(store, start),
        "crisis_actions": [dashboard.change_entry(row) for row in crisis],
    }


def incident_item(store, item_id: int) -> dict[str, Any] | None:
    """The incident with its timeline (incident_events), or, without the incidents area, one alert with a
    timeline made of its signals, notifications and acknowledgement."""
    if _incidents_table(store):
        row = store.conn.execute(
            "SELECT id, title, severity, status, opened_at, updated_at, resolved_at, acked_by, acked_at, silenced_until, "
            "keys, evidence, figures, facets FROM incidents WHERE id = ?", [item_id]).fetchone()
        if row is None:
            return None
        names = ("id", "title", "severity", "status", "opened_at", "updated_at", "resolved_at", "acked_by", "acked_at",
                 "silenced_until", "keys", "evidence", "figures", "facets")
        item = dict(zip(names, row, strict=True))
        for name, default in (("keys", []), ("evidence", []), ("figures", {}), ("facets", [])):
            item[name] = dashboard.loads(item[name], default)
        item["kind"] = "incident"
        item["timeline"] = [
            {"at": at, "kind": kind, "severity": severity, "text": text, "figures": dashboard.loads(figures, {}),
             "alert_id": alert_id, "group": group}
            for at, kind, severity, text, figures, alert_id, group in store.conn.execute(
                "SELECT at, kind, severity, text, figures, alert_id, route_group FROM incident_events "
                "WHERE incident_id = ? ORDER BY at, id", [item_id])]
        return item
    row = store.conn.execute(
        "SELECT id, title, severity, status, created_at, updated_at, resolved_at, acked_by, acked_at, key, evidence, "
        "details, summary FROM alerts WHERE id = ?", [item_id]).fetchone()
    if row is None:
        return None
    (alert_id, title, severity, status, created, updated, resolved, acked_by, acked_at, key, evidence, details,
     summary) = row
    timeline = [{"at": at, "kind": "signal", "severity": sev, "text": f"signal {kind} sur {k} : {observed:g} observé"
                 + (f", {expected:.1f} attendu" if expected is not None else ""), "figures": {}}
                for kind, k, at, sev, observed, expected in store.conn.execute(
                    "SELECT kind, key, at, severity, coalesce(observed, 0), expected FROM signals WHERE key = ? "
                    "AND at >= ? AND at <= ? ORDER BY at LIMIT 50",
                    [key, to_iso(parse_time(created) - timedelta(hours=1)), updated])]
    timeline.append({"at": created, "kind": "alert", "severity": severity, "text": title, "figures": {}})
    for kind, channel, target, state, at, sent in store.conn.execute(
            "SELECT kind, channel, target, state, created_at, sent_at FROM outbox WHERE alert_id = ? ORDER BY id",
            [alert_id]):
        timeline.append({"at": sent or at, "kind": "notification", "severity": None,
                         "text": f"{'mise à jour' if kind != 'alert' else 'notification'} {channel} → {target} : {state}",
                         "figures": {}})
    if acked_at:
        timeline.append({"at": acked_at, "kind": "ack", "severity": None, "text": f"pris en charge par {acked_by}",
                         "figures": {}})
    timeline.sort(key=lambda entry: entry["at"] or "")
    return {"id": alert_id, "title": title, "severity": severity, "status": status, "opened_at": created,
            "updated_at": updated, "resolved_at": resolved, "acked_by": acked_by, "acked_at": acked_at,
            "silenced_until": None, "keys": [key], "evidence": dashboard.loads(evidence, []),
            "figures": dashboard.loads(details, {}), "facets": [], "summary": summary, "kind": "alert",
            "timeline": timeline}


def _held_posts(store, since: datetime) -> list[dict[str, Any]]:
    return [{"id": p["id"], "text": explorer.clean(p["text"]), "channel": p["channel"], "category": p["category"],
             "scheduled_at": p["scheduled_at"], "state": p["state"], "state_label": desk.state_label(p["state"]),
             "held_at": p["held_at"], "held_reason": p["held_reason"]}
            for p in posting_queue.held_since(store, since)]


# -- posting desk ------------------------------------------------------------------------------------


async def api_desk(request: web.Request) -> web.Response:
    app = _app(request)
    store = app.store
    needed = app.settings.web.auth.held_post_approvals

    def gather() -> tuple[str, list[dict[str, Any]], dict[int, list[dict[str, Any]]], dict[str, int]]:
        posts = posting_queue.list_posts(store, limit=300)
        return (crisis_state.current_state(store)["state"], posts,
                posting_queue.events(store, [p["id"] for p in posts]), posting_queue.summary(store))

    state, posts, journal, counts = await read(request, gather)
    items = []
    for post in posts:
        public = posting_queue.as_public(post)
        public["text"] = explorer.clean(public.get("text"))
        public["events"] = journal.get(post["id"], [])
        public["approvals_needed"] = needed if post["state"] == "held" else (1 if post.get("needs_approval") else 0)
        items.append(public)
    identity = identity_of(request)
    return web.json_response({"policy": desk.policy(state, app.settings.rules.posting, needed), "posts": items,
                              "counts": counts, "me": identity.name if identity else None})


async def _desk_action(request: web.Request, action: str) -> web.Response:
    app = _app(request)
    try:
        post_id = int(request.match_info["id"])
    except ValueError:
        return _error(400, "identifiant de publication invalide")
    identity = identity_of(request)
    if identity is None:
        return _error(401, "authentification requise")
    account = actor_of(request, await _body(request))
    now = app.clock.now()

    def act() -> desk.Outcome:
        # One transaction: an approval and the release it completes are recorded together or not at all.
        if action == "approve":
            return desk.approve(app.store, app.settings.rules.posting, post_id, account, now,
                                needed=app.settings.web.auth.held_post_approvals)
        if action == "release":
            return desk.release(app.store, post_id, account, now)
        return desk.cancel(app.store, post_id, account, now)

    try:
        outcome = await write(request, act)
    except desk.DeskError as exc:
        return _error(exc.status, str(exc))
    return web.json_response({"message": outcome.message, "released": outcome.released,
                              "post": posting_queue.as_public(outcome.post)})


async def _body(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    try:
        body = await request.json()
    except ValueError:
        raise web.HTTPBadRequest(text='{"error": "corps JSON invalide"}', content_type="application/json") from None
    return body if isinstance(body, dict) else {}


async def api_post_approve(request: web.Request) -> web.Response:
    return await _desk_action(request, "approve")


async def api_post_release(request: web.Request) -> web.Response:
    return await _desk_action(request, "release")


async def api_post_cancel(request: web.Request) -> web.Response:
    return await _desk_action(request, "cancel")


def routes() -> list[web.RouteDef]:
    return [
        web.get("/api/dashboard", api_dashboard),
        web.get("/api/volume", api_volume),
        web.get("/api/volume/keys", api_volume_keys),
        web.get("/api/explorer", api_explorer),
        web.get("/api/explorer.csv", api_explorer_csv),
        web.get("/api/workspace/incidents", api_incident_list),
        web.get("/api/workspace/incidents/{id}", api_incident_context),
        web.get("/api/desk", api_desk),
        web.post("/api/posts/{id}/approve", api_post_approve),
        web.post("/api/posts/{id}/release", api_post_release),
        web.post("/api/posts/{id}/cancel", api_post_cancel),
    ]
