"""SIGKILL mid-delivery on the new channels: the daemon (`vigie run`) delivers 8 alerts to each of Teams,
Tchap/Matrix, Mattermost and SMS (OVHcloud) through slow local fakes, is killed with SIGKILL mid-batch,
then restarted. Nothing is lost; nothing confirmed is sent again; Matrix (same txnId) and SMS (job found
by its tag) do not even repeat the sends that were in flight."""

from __future__ import annotations

import asyncio
import signal
import textwrap
from collections import Counter
from pathlib import Path

from alerts.outbox import enqueue
from listener.areas import open_store
from tests.fakes.matrix import FakeMatrix
from tests.fakes.mattermost import FakeMattermost
from tests.fakes.sms import FakeOvh
from tests.fakes.teams import FakeTeams
from tests.test_alerts_crash import start_daemon, states, wait_until
from tests.test_alerts_data import T0, add_alert

PER_CHANNEL = 8


def write_config(tmp_path: Path, *, hs: FakeMatrix, ovh: FakeOvh) -> Path:
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
        concurrency = 2
        batch_size = 8
        backoff_initial = 0.1
        backoff_max = 0.5
        [alerts.slack]
        enabled = false
        [alerts.email]
        enabled = false
        [alerts.matrix]
        homeserver = "{hs.homeserver}"
        [alerts.sms]
        max_per_hour = 100
        [alerts.sms.ovh]
        endpoint = "{ovh.endpoint}"
        service_name = "{ovh.service}"
    """), encoding="utf-8")
    return config


async def test_sigkill_mid_delivery_loses_nothing_on_any_new_channel(tmp_path, monkeypatch):
    db = tmp_path / "vigie.db"
    log = tmp_path / "daemon.log"
    async with (FakeTeams(delay=0.1) as teams, FakeMatrix(delay=0.1) as hs, FakeMattermost(delay=0.1) as mm,
                FakeOvh(delay=0.1) as ovh):
        for name, value in {**ovh.env(), "VIGIE_MATRIX_TOKEN": hs.token}.items():
            monkeypatch.setenv(name, value)
        config = write_config(tmp_path, hs=hs, ovh=ovh)
        targets = {"teams": teams.webhook_url(), "matrix": hs.room(), "mattermost": mm.hook_url(),
                   "sms": "+33612345678"}
        store = open_store(db)
        for i in range(PER_CHANNEL):
            alert = add_alert(store, title=f"Alerte {i}")
            for channel, target in targets.items():
                enqueue(store, kind="alert", channel=channel, target=target, payload={"alert_ids": [alert]},
                        idempotency_key=f"crash-{i}:{channel}", at=T0, alert_id=alert, recipient_group="astreinte")
        store.close()

        def received() -> int:
            return len(teams.cards) + len(hs.events) + len(mm.posts) + len(ovh.sms)

        first = start_daemon(config, log)
        try:
            await wait_until(lambda: received() >= 10, 60, "some deliveries")
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(10)
        at_kill = states(db)
        confirmed = {key for key, s in at_kill.items() if s == "sent"}
        in_flight = {key for key, s in at_kill.items() if s == "sending"}
        assert confirmed and len(confirmed) < len(at_kill), at_kill

        second = start_daemon(config, log)
        try:
            await wait_until(lambda: all(s == "sent" for s in states(db).values()), 90, "every row sent")
        finally:
            second.send_signal(signal.SIGTERM)
            assert second.wait(15) == 0, log.read_text()
        await asyncio.sleep(0.3)

    seen = {
        "teams": Counter(f"crash-{c['body'][0]['text'].split('Alerte ')[-1].split()[0]}:teams" for c in teams.cards),
        "mattermost": Counter(p["props"]["vigie_idempotency_key"] for p in mm.posts),
        "matrix": Counter(e["txn_id"] for e in hs.events),
        "sms": Counter(s["tag"] for s in ovh.sms),
    }
    print(f"at SIGKILL: {len(confirmed)} confirmed, {len(in_flight)} in flight; after restart: "
          + ", ".join(f"{name} {sum(c.values())} received / {len(c)} distinct" for name, c in seen.items()))
    for name in targets:
        assert len(seen[name]) == PER_CHANNEL, f"{name}: every alert delivered"
    # Matrix and SMS: exactly once, even for what was in flight at the kill.
    assert all(n == 1 for n in seen["matrix"].values()) and all(n == 1 for n in seen["sms"].values())
    # Teams and Mattermost (no idempotency in the API): only what was in flight may be repeated.
    for name in ("teams", "mattermost"):
        repeated = {key for key, n in seen[name].items() if n > 1}
        assert repeated <= in_flight, f"{name}: only in-flight sends repeated ({repeated})"
        assert not repeated & confirmed
