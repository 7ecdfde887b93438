"""The store under faults, through the real daemon on loopback: a full disk, a read-only file system and a
second process holding the write lock. Whatever is answered « stored » is in the store, what is answered
« queued » survives, a cursor never moves past an unstored mention, /healthz says what is wrong and
everything recovers by itself."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import aiohttp
import pytest

from listener.app import Vigie
from tests.fakes import wait_for
from tests.helpers import mention

TOKEN = "jeton-stockage"


@contextlib.contextmanager
def small_disk(path: Path, size_kb: int):
    """A tmpfs of a few hundred KB (the machine runs tests as root); skipped where mounting is refused."""
    path.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(path)],
                             capture_output=True).returncode == 0
    if not mounted:
        pytest.skip("cannot mount a tmpfs here (not root?)")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def fill(disk: Path) -> Path:
    """Take every free byte of the small disk."""
    filler = disk / "filler"
    with contextlib.suppress(OSError), filler.open("wb", buffering=0) as handle:
        while True:
            handle.write(b"\0" * 4096)
    return filler


async def ingest(app: Vigie, items: list[dict], query: str = "") -> tuple[int, dict]:
    url = f"http://127.0.0.1:{app.web_port}/api/ingest{query}"
    async with aiohttp.ClientSession() as http, http.post(
        url, json=items, headers={"Authorization": f"Bearer {TOKEN}"}
    ) as response:
        return response.status, await response.json()


async def healthz(app: Vigie) -> tuple[int, dict]:
    async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{app.web_port}/healthz") as response:
        return response.status, await response.json()


def stored_ids(db: Path) -> set[str]:
    conn = sqlite3.connect(db)
    try:
        return {row[0] for row in conn.execute("SELECT external_id FROM mentions")}
    finally:
        conn.close()


@pytest.fixture
def daemon_on(make_settings, monkeypatch):
    monkeypatch.setenv("TEST_INGEST_TOKEN", TOKEN)
    started: list[Vigie] = []

    async def start(db: Path, **store) -> Vigie:
        settings = make_settings(store={"path": str(db), **store}, pipeline={"classify": False},
                                 web={"ingest_token_env": "TEST_INGEST_TOKEN"})
        app = Vigie(settings, deliver=False)
        app.pipeline.retry_max = 0.2
        await app.start()
        started.append(app)
        return app

    yield start


async def test_disk_full_nothing_answered_stored_is_missing_and_the_cursor_waits(tmp_path, daemon_on):
    with small_disk(tmp_path / "disk", 3072) as disk:
        db = disk / "vigie.db"
        app = await daemon_on(db)
        filler = fill(disk)
        answered: dict[str, str] = {}
        statuses = []
        long_text = "Rivebelle " + "inondation du quartier nord " * 60
        for n in range(60):
            items = [{**mention(n * 10 + k, source="outil", text=long_text).to_dict(), "external_id": f"m{n}-{k}"}
                     for k in range(10)]
            status, body = await ingest(app, items)
            statuses.append(status)
            for result in body.get("results", []):
                answered[result["external_id"]] = result["status"]
            if status == 503:
                break
        assert 503 in statuses, "the small disk never filled up"
        acknowledged = {eid for eid, state in answered.items() if state == "stored"}
        assert acknowledged <= stored_ids(db)  # « stored » means committed
        # A source's batch during the fault: held, its cursor not moved.
        await app.pipeline.put([mention(900, source="mastodon-x")], source="mastodon-x", cursor="after-900")
        status, health = await healthz(app)
        assert status == 503 and health["components"]["pipeline"]["store_fault"] == "disque plein"
        status, body = await ingest(app, [mention(901, source="outil").to_dict()], query="?wait=false")
        assert status == 503 and "disque plein" in body["error"]
        assert app.store.get_cursor("mastodon-x") is None
        # Room again: the held batches go in by themselves, the cursor follows, health is back.
        filler.unlink()
        await wait_for(lambda: app.store.get_cursor("mastodon-x") == "after-900", timeout=30)
        assert "id-900" in stored_ids(db)
        status, health = await healthz(app)
        assert health["components"]["pipeline"]["state"] == "running" or "store_fault" not in health["components"]["pipeline"]
        status, body = await ingest(app, [mention(902, source="outil").to_dict()])
        assert status == 200 and body["stored"] == 1
        await app.stop()


def read_only(app: Vigie, on: bool) -> None:
    """Make every connection of the daemon see a read-only database (SQLITE_READONLY on each write), the
    way a store opened from a read-only file does; a root test process cannot chmod its way there."""
    for conn in list(app.store._connections):
        conn.execute(f"PRAGMA query_only = {int(on)}")
    store = app.store
    if on:
        original = store._open

        def open_read_only():
            conn = original()
            conn.execute("PRAGMA query_only = 1")
            return conn

        store._open = open_read_only
    else:
        store.__dict__.pop("_open", None)


async def test_read_only_store_is_reported_and_nothing_is_answered_queued(tmp_path, daemon_on):
    db = tmp_path / "vigie.db"
    app = await daemon_on(db)
    status, body = await ingest(app, [mention(1, source="outil").to_dict()])
    assert status == 200 and body["stored"] == 1
    app.store.reopen = lambda: None  # keep the read-only connections while the test holds them so
    read_only(app, True)
    status, body = await ingest(app, [mention(2, source="outil").to_dict()], query="?wait=false")
    assert status == 503 and body["results"][0]["status"] == "error"
    status, body = await ingest(app, [mention(3, source="outil").to_dict()])
    assert status == 503 and body.get("stored", 0) == 0
    assert body["results"][0]["error"]["problem"] == "base en lecture seule"
    status, health = await healthz(app)
    assert status == 503 and health["components"]["pipeline"]["store_fault"] == "base en lecture seule"
    status, body = await ingest(app, [mention(5, source="outil").to_dict()])
    assert status == 503 and "lecture seule" in body["error"]
    assert stored_ids(db) == {"id-1"}
    read_only(app, False)
    # Writable again: the batch held since then is stored without anyone re-sending it.
    await wait_for(lambda: "id-3" in stored_ids(db), timeout=30)
    await wait_for(lambda: app.pipeline.fault is None, timeout=30)
    status, body = await ingest(app, [mention(4, source="outil").to_dict()], query="?wait=false")
    assert status == 202
    await wait_for(lambda: "id-4" in stored_ids(db), timeout=30)
    await app.stop()


def test_a_store_on_a_read_only_disk_is_a_clear_error_at_start(tmp_path):
    from listener.store import Store
    from listener.store.store import StoreOpenError

    with small_disk(tmp_path / "disk", 4096) as disk:
        Store(disk / "vigie.db").close()
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        with pytest.raises(StoreOpenError, match="inutilisable"):
            Store(disk / "vigie.db")


HOLDER = textwrap.dedent("""
    import sqlite3, sys, time
    conn = sqlite3.connect(sys.argv[1], isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO cursors (source, cursor, updated_at) VALUES ('foreign', 'x', 'now')")
    print("locked", flush=True)
    sys.stdin.readline()  # hold the write lock until told to let go
    conn.execute("COMMIT")
""")


async def test_a_foreign_write_lock_neither_freezes_healthz_nor_loses_a_mention(tmp_path, daemon_on):
    db = tmp_path / "vigie.db"
    app = await daemon_on(db, busy_timeout_seconds=0.3)
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(db)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        # A source's batch and an ingest call arrive while the other process holds the lock.
        await app.pipeline.put([mention(1, source="mastodon-x")], source="mastodon-x", cursor="c-1")
        pending_ingest = asyncio.create_task(ingest(app, [mention(2, source="outil").to_dict()]))
        await wait_for(lambda: app.pipeline.fault is not None, timeout=30)
        status, health = await healthz(app)
        # /healthz answered while the lock is still held (the holder waits for our word).
        assert holder.poll() is None
        assert status == 503 and "verrouillée" in health["components"]["pipeline"]["store_fault"]
        assert app.store.get_cursor("mastodon-x") is None
    finally:
        holder.stdin.write("\n")
        holder.stdin.flush()
        holder.wait(timeout=10)
    status, body = await pending_ingest
    # Either committed once the lock went (200, stored) or not in time, and then said so (503, send again).
    assert (status, body["stored"]) == (200, 1) or (
        status == 503 and body["results"][0]["error"]["problem"] == "base verrouillée par un autre processus")
    await wait_for(lambda: app.store.get_cursor("mastodon-x") == "c-1", timeout=30)
    await wait_for(lambda: app.pipeline.fault is None, timeout=30)
    if status == 503:  # what a caller does with a 503: send again
        status, body = await ingest(app, [mention(2, source="outil").to_dict()])
        assert status == 200 and body["stored"] + body["duplicates"] == 1
    assert {"id-1", "id-2"} <= stored_ids(db)
    await wait_for(lambda: app.pipeline.fault is None, timeout=30)
    assert (await healthz(app))[1]["components"]["pipeline"].get("store_fault") is None
    await app.stop()


def _config(tmp_path: Path, port: int) -> Path:
    config = tmp_path / "flood.toml"
    config.write_text(textwrap.dedent(f"""
        [store]
        path = "{tmp_path / 'vigie.db'}"
        [web]
        host = "127.0.0.1"
        port = {port}
        ingest_token_env = "TEST_INGEST_TOKEN"
        [pipeline]
        classify = true
        batch_size = 200
        [alerts]
        console = false
    """), encoding="utf-8")
    return config


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def _wait_up(port: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    async with aiohttp.ClientSession() as http:
        while loop.time() < deadline:
            assert proc.poll() is None, "the daemon died at start-up"
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                    await response.read()
                    return
            await asyncio.sleep(0.1)
    raise AssertionError("daemon did not start")


async def _flood(port: int, count: int, batch: int, acknowledged: set[str]) -> set[str]:
    """Post `count` mentions with wait=false; return the ids the daemon acknowledged (202 « queued »)."""
    url = f"http://127.0.0.1:{port}/api/ingest?wait=false"
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {TOKEN}"}) as http:
        for start in range(0, count, batch):
            items = [{**mention(i, source="flood").to_dict(), "external_id": f"f{i}"}
                     for i in range(start, start + batch)]
            try:
                async with http.post(url, json=items) as response:
                    body = await response.json()
            except (aiohttp.ClientError, json.JSONDecodeError):
                break
            acknowledged |= {r["external_id"] for r in body.get("results", []) if r["status"] in ("queued", "stored")}
    return acknowledged


def spooled(db: Path) -> int:
    if not db.exists():
        return 0
    conn = sqlite3.connect(db, timeout=5)
    try:
        return conn.execute("SELECT count(*) FROM ingest_spool").fetchone()[0]
    except sqlite3.OperationalError:  # not migrated yet
        return 0
    finally:
        conn.close()


@pytest.mark.parametrize("kill", ["SIGTERM", "SIGKILL"])
async def test_a_signal_during_a_flood_loses_nothing_acknowledged(tmp_path, monkeypatch, kill):
    import os
    import signal

    port = _free_port()
    config = _config(tmp_path, port)
    env = {**os.environ, "TEST_INGEST_TOKEN": TOKEN, "PYTHONUNBUFFERED": "1"}
    log = (tmp_path / "daemon.log").open("ab")
    repo = Path(__file__).resolve().parent.parent
    command = [sys.executable, "-m", "listener.cli", "run", "--config", str(config)]
    proc = subprocess.Popen(command, cwd=repo, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        await _wait_up(port, proc)
        acknowledged: set[str] = set()
        flood = asyncio.create_task(_flood(port, 40_000, 500, acknowledged))
        # Signal once thousands are acknowledged but (classification on) not stored yet: a backlog.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        while spooled(tmp_path / "vigie.db") < 2000 and loop.time() < deadline and not flood.done():
            await asyncio.sleep(0.05)
        proc.send_signal(getattr(signal, kill))
        await flood
        code = await asyncio.to_thread(proc.wait, 60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert acknowledged, "nothing was acknowledged before the signal"
    if kill == "SIGTERM":
        assert code == 0
    backlog = spooled(tmp_path / "vigie.db")
    print(f"{kill}: {len(acknowledged)} acknowledged, {backlog} waiting in the spool after the stop")
    # Restart: whatever was acknowledged and not yet stored waits in the spool and goes in.
    proc = subprocess.Popen(command, cwd=repo, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        await _wait_up(port, proc)

        await wait_for(lambda: spooled(tmp_path / "vigie.db") == 0, timeout=180, interval=0.2)
        missing = acknowledged - stored_ids(tmp_path / "vigie.db")
        assert not missing, f"{len(missing)} acknowledged mentions lost"
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(proc.wait, 60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        log.close()
