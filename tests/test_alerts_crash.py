"""SIGKILL in the middle of a batch: after a restart every alert is delivered and none that was
confirmed is sent twice.

The daemon (`vigie run`) delivers 40 alerts to a slow fake webhook (0.15 s per answer, 3 at a time) and
is killed with SIGKILL mid-batch. The at-least-once window: a send in flight at the kill (row still
`sending`) may be repeated after the restart — the receiver sees the same X-Vigie-Idempotency-Key and
can drop it. A row confirmed (`sent`) before the kill must never be sent again.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path

from alerts.outbox import enqueue
from listener.areas import open_store
from tests.fakes.webhook import FakeWebhook
from tests.test_alerts_data import T0, add_alert

REPO = Path(__file__).resolve().parent.parent
TOTAL = 40


def write_config(tmp_path: Path) -> Path:
    config = tmp_path / "crash.toml"
    config.write_text(textwrap.dedent(f"""
        [store]
        path = "{tmp_path / 'vigie.db'}"
        [web]
        enabled = false
        [pipeline]
        classify = false
        [alerts]
        console = false
        [alerts.worker]
        poll_interval = 0.05
        concurrency = 3
        batch_size = 6
        backoff_initial = 0.1
        backoff_max = 0.5
        [alerts.slack]
        enabled = false
        [alerts.email]
        enabled = false
    """), encoding="utf-8")
    return config


def states(db: Path) -> dict[str, str]:
    conn = sqlite3.connect(db)
    try:
        return dict(conn.execute("SELECT idempotency_key, state FROM outbox").fetchall())
    finally:
        conn.close()


def start_daemon(config: Path, log: Path) -> subprocess.Popen:
    env = {**os.environ, "VIGIE_WEBHOOK_SECRET": "webhook-secret", "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "listener.cli", "run", "--config", str(config)], cwd=REPO, env=env,
                            stdout=log.open("ab"), stderr=subprocess.STDOUT)


async def wait_until(predicate, timeout: float, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def test_sigkill_mid_batch_then_restart_delivers_all_and_never_resends_confirmed(tmp_path):
    config = write_config(tmp_path)
    db = tmp_path / "vigie.db"
    log = tmp_path / "daemon.log"
    store = open_store(db)
    async with FakeWebhook(delay=0.15) as hook:
        for i in range(TOTAL):
            alert = add_alert(store, title=f"Alerte {i}")
            enqueue(store, kind="alert", channel="webhook", target=f"{hook.url}/hook", payload={"alert_ids": [alert]},
                    idempotency_key=f"crash-{i:02d}", at=T0, alert_id=alert)
        store.close()

        first = start_daemon(config, log)
        try:
            await wait_until(lambda: len(hook.receipts) >= 12, 30, "a dozen deliveries")
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(10)
        at_kill = states(db)
        confirmed = {key for key, state in at_kill.items() if state == "sent"}
        in_flight = {key for key, state in at_kill.items() if state == "sending"}
        received_at_kill = len(hook.receipts)
        assert confirmed and len(confirmed) < TOTAL, at_kill

        second = start_daemon(config, log)
        try:
            await wait_until(lambda: all(s == "sent" for s in states(db).values()), 60, "every row sent")
        finally:
            second.send_signal(signal.SIGTERM)
            assert second.wait(15) == 0, log.read_text()
        await asyncio.sleep(0.3)  # let the fake finish logging late receipts

    counts: Counter = hook.counts()
    duplicates = {key: n for key, n in counts.items() if n > 1}
    report = (f"{TOTAL} alerts; at SIGKILL: {len(confirmed)} confirmed, {len(in_flight)} in flight, "
              f"{received_at_kill} received; after restart: {len(counts)} distinct delivered, "
              f"{sum(counts.values())} receipts, duplicates {duplicates or 'none'}")
    print(report)
    (tmp_path / "report.txt").write_text(report)
    assert set(counts) == {f"crash-{i:02d}" for i in range(TOTAL)}, "every alert delivered"
    assert all(counts[key] == 1 for key in confirmed), "nothing confirmed is sent twice"
    assert set(duplicates) <= in_flight, "only the in-flight sends may be repeated"
    assert all(receipt["signed"] for receipt in hook.receipts)
    assert "in flight at the last stop" in log.read_text() or not in_flight
