"""The web side under a foreign write lock, through the real daemon on loopback: a second process holds
`BEGIN IMMEDIATE` while an operator's action (ack, crisis level, silence, approval, delivery retry) is in
flight. The daemon stays up (/healthz and reads answer while the lock is still held), and the action is
recorded once the lock goes, or refused with a French 503 that says nothing was recorded: sent again,
it is recorded once. The action journal loses no line either."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest

from alerts import outbox
from listener.app import Vigie
from listener.store_threads import STORE_THREADS
from rules import posting_queue
from tests.fakes import wait_for
from tests.test_alerts_data import add_alert
from tests.test_hardening_store import HOLDER

TOKEN = "jeton-api-verrou"


def _alert(app: Vigie) -> tuple[int, str]:
    return add_alert(app.store, at=app.clock.now()), "alerts"


def _held_post(app: Vigie) -> int:
    now = app.clock.now()
    post_id = posting_queue.add_post(app.store, text="Fête des lumières samedi", channel="mastodon",
                                     category="promotion", scheduled_at=now + timedelta(hours=2), author="auteur",
                                     at=now)
    posting_queue.hold(app.store, post_id, "cellule", "crise en cours", now)
    return post_id


def _dead_delivery(app: Vigie) -> int:
    now = app.clock.now()
    row_id = outbox.enqueue(app.store, kind="alert", channel="console", target="cellule", payload={"alert_ids": []},
                            idempotency_key="verrou-1", at=now)
    with app.store.transaction():
        app.store.conn.execute("UPDATE outbox SET state = 'dead', last_error = 'adresse invalide' WHERE id = ?",
                               [row_id])
    return row_id


# (name, set-up → request, what the store holds once the action is recorded)
ACTIONS = {
    "ack": (lambda app: (f"/api/alerts/{_alert(app)[0]}/ack", {"actor": "cellule"}),
            "SELECT count(*) FROM alerts WHERE status = 'acknowledged' AND acked_by = 'cellule'"),
    "crisis": (lambda app: ("/api/crisis", {"state": "vigilance", "actor": "préfète", "reason": "crue annoncée"}),
               "SELECT count(*) FROM crisis_log WHERE to_state = 'vigilance' AND actor = 'préfète'"),
    "silence": (lambda app: ("/api/silences", {"rule": "pic-inondation", "duration": "2h", "actor": "cellule"}),
                "SELECT count(*) FROM rules_silences WHERE rule = 'pic-inondation'"),
    "approve": (lambda app: (f"/api/posts/{_held_post(app)}/approve", {"actor": "cabinet"}),
                "SELECT count(*) FROM post_approvals WHERE approver = 'cabinet'"),
    "retry": (lambda app: (f"/api/outbox/{_dead_delivery(app)}/retry", {}),
              "SELECT count(*) FROM outbox WHERE idempotency_key = 'verrou-1' AND state = 'pending'"),
}


@pytest.fixture
def daemon(make_settings, monkeypatch):
    monkeypatch.setenv("VIGIE_API_TOKEN", TOKEN)
    started: list[Vigie] = []

    async def start(tmp_path: Path, busy_timeout: float) -> Vigie:
        settings = make_settings(store={"path": str(tmp_path / "vigie.db"), "busy_timeout_seconds": busy_timeout},
                                 pipeline={"classify": False})
        app = Vigie(settings, deliver=False)
        await app.start()
        started.append(app)
        return app

    yield start


class Lock:
    """A second process holding SQLite's write lock on the daemon's file until `release()`."""

    def __init__(self, db: Path) -> None:
        self.process = subprocess.Popen([sys.executable, "-c", HOLDER, str(db)], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True)
        assert self.process.stdout.readline().strip() == "locked"

    @property
    def held(self) -> bool:
        return self.process.poll() is None

    def release(self) -> None:
        if self.held:
            self.process.stdin.write("\n")
            self.process.stdin.flush()
        self.process.wait(timeout=30)


async def call(app: Vigie, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {TOKEN}"}) as http, http.request(
            method, f"http://127.0.0.1:{app.web_port}{path}", json=body) as response:
        return response.status, await response.json(content_type=None)


def value(db: Path, sql: str) -> object:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql).fetchone()[0]
    finally:
        conn.close()


@pytest.mark.parametrize("action", list(ACTIONS))
async def test_a_web_action_under_a_foreign_lock_waits_for_it_without_freezing_the_daemon(tmp_path, daemon, action):
    app = await daemon(tmp_path, busy_timeout=60)
    prepare, recorded = ACTIONS[action]
    path, body = prepare(app)
    db = tmp_path / "vigie.db"
    lock = Lock(db)
    try:
        pending = asyncio.create_task(call(app, "POST", path, body))
        threads = app.web_runner.app[STORE_THREADS]
        await wait_for(lambda: threads.writing >= 1, timeout=30)  # the action is waiting for the lock
        status, health = await call(app, "GET", "/healthz")
        assert lock.held and not pending.done()  # /healthz answered while the lock is still held
        assert "components" in health
        status, alerts = await call(app, "GET", "/api/alerts")  # and so does a read of the workspace
        assert status == 200 and lock.held and not pending.done()
        assert value(db, recorded) == 0
    finally:
        lock.release()
    status, answer = await pending
    assert status in (200, 201), answer
    assert value(db, recorded) == 1
    await wait_for(lambda: value(db, f"SELECT count(*) FROM user_actions WHERE action = 'POST {path}'") == 1,
                   timeout=30)
    await app.stop()


async def test_a_web_action_refused_under_a_long_lock_says_so_in_french_and_is_recorded_once_sent_again(
        tmp_path, daemon):
    app = await daemon(tmp_path, busy_timeout=0.3)
    db = tmp_path / "vigie.db"
    alert_id = add_alert(app.store, at=app.clock.now())
    path = f"/api/alerts/{alert_id}/ack"
    lock = Lock(db)
    try:
        status, answer = await call(app, "POST", path, {"actor": "cellule"})
        assert lock.held
        assert status == 503 and "rien n'a été enregistré" in answer["error"], answer
        assert "verrouillée" in answer["error"]
        assert (await call(app, "GET", "/healthz"))[1]["components"]
    finally:
        lock.release()
    assert value(db, f"SELECT status FROM alerts WHERE id = {alert_id}") == "open"  # nothing half-done
    status, answer = await call(app, "POST", path, {"actor": "cellule"})
    assert status == 200 and answer["acknowledged"] is True
    assert value(db, "SELECT count(*) FROM alerts WHERE status = 'acknowledged'") == 1
    # The journal kept both attempts: the refused one is written once the store takes writes again.
    await wait_for(lambda: value(db, f"SELECT count(*) FROM user_actions WHERE action = 'POST {path}'") == 2,
                   timeout=60)
    assert value(db, f"SELECT count(*) FROM user_actions WHERE action = 'POST {path}' AND status = 503") == 1
    await app.stop()
