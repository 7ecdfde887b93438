"""What every polling collector must show against its fake: paging, 429 with and without Retry-After,
malformed and failing answers, an expired token, and a restart, with nothing lost or duplicated.

A collector's test module describes itself with a `Contract` (how to build its settings, add an item
the collector must store, revoke and renew its token) and calls these checks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from listener.app import Vigie
from tests.fakes import FAST, wait_for


@dataclass
class Contract:
    name: str
    settings: Callable[..., Any]  # (**overrides) -> Settings
    add: Callable[[int], str]  # add item number i; returns the external id it must be stored under
    fault_path: str
    revoke: Callable[[], None]
    renew: Callable[[], None]
    fake: Any


def stored_ids(app: Vigie, name: str) -> list[str]:
    return [row[0] for row in app.store.conn.execute("SELECT external_id FROM mentions WHERE source = ?", [name])]


async def start(settings) -> Vigie:
    app = Vigie(settings, deliver=False)
    await app.start()
    return app


async def paging_and_restart(contract: Contract) -> None:
    """A backlog read a page per poll, cut by a restart, is stored whole and once."""
    first = [contract.add(i) for i in range(3)]
    app = await start(contract.settings(max_pages=1))
    await wait_for(lambda: set(first) <= set(stored_ids(app, contract.name)), timeout=30)
    backlog = [contract.add(i) for i in range(3, 17)]
    await wait_for(lambda: len(set(stored_ids(app, contract.name)) & set(backlog)) >= 3, timeout=30)
    await app.stop()
    again = await start(contract.settings(max_pages=1))
    await wait_for(lambda: set(first + backlog) <= set(stored_ids(again, contract.name)), timeout=30)
    ids = stored_ids(again, contract.name)
    assert len(ids) == len(set(ids)) == len(first + backlog)
    await again.stop()


async def faults(contract: Contract, kinds: tuple[str, ...] = ("429", "429-bare", "malformed", "500")) -> None:
    """Rate limiting (with and without Retry-After), malformed and failing answers lose nothing."""
    app = await start(contract.settings())
    source = app.sources[0]
    await wait_for(lambda: source.health.extra["polls"] >= 1)
    expected = []
    for n, kind in enumerate(kinds):
        contract.fake.inject(kind, path=contract.fault_path, times=2)
        expected.append(contract.add(100 + n))
        await wait_for(lambda: expected[-1] in stored_ids(app, contract.name), timeout=30)
    assert {"429", "429-bare"} & set(kinds) <= set(contract.fake.faults_served)
    if "429" in kinds:
        assert source.health.extra["rate_limited"] >= 2
    ids = stored_ids(app, contract.name)
    assert len(ids) == len(set(ids))
    await app.stop()


async def token_expiry(contract: Contract) -> None:
    """A refused token pauses the source (no hammering), health says so; a renewed one resumes."""
    app = await start(contract.settings(auth_retry_seconds=0.6))
    source = app.sources[0]
    kept = contract.add(200)
    await wait_for(lambda: kept in stored_ids(app, contract.name))
    contract.revoke()
    lost_while_expired = contract.add(201)
    await wait_for(lambda: source.health.extra.get("auth") == "refused", timeout=30)
    assert source.health.state in ("degraded", "failing") and source.health.last_error
    requests = len(contract.fake.requests)
    polls = source.health.extra["polls"]
    await wait_for(lambda: source.health.extra["polls"] >= polls + 3)
    assert len(contract.fake.requests) - requests <= 2  # paused, not hammering
    contract.renew()
    await wait_for(lambda: lost_while_expired in stored_ids(app, contract.name), timeout=30)
    await wait_for(lambda: source.health.extra.get("auth") == "ok")
    await app.stop()


FAST_SETTINGS = dict(FAST)
