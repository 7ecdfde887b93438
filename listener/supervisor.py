"""Keeps long-running components alive: a crash is logged with context and the component restarts
with exponential backoff, while the rest of the daemon carries on."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from listener.timeutil import to_iso, utcnow

log = logging.getLogger("vigie.supervisor")


@dataclass
class Supervised:
    name: str
    run: Callable[[], Awaitable[None]]
    health: Callable[[], dict[str, Any]] | None = None
    # Finite components (a replay) end normally; others are restarted if they return.
    finite: bool = False
    state: str = "starting"
    restarts: int = 0
    last_error: str | None = None
    last_error_at: str | None = None
    task: asyncio.Task | None = field(default=None, repr=False)

    def status(self) -> dict[str, Any]:
        status: dict[str, Any] = {}
        if self.health is not None:
            try:
                status.update(self.health())
            except Exception as exc:  # health must never take /healthz down
                status["health_error"] = repr(exc)
        # While running, the component's own view of its state wins (ok, degraded, failing...).
        if self.state != "running" or "state" not in status:
            status["state"] = self.state
        status["restarts"] = self.restarts
        status["last_crash"] = self.last_error
        status["last_crash_at"] = self.last_error_at
        return status


class Supervisor:
    def __init__(
        self,
        *,
        initial_backoff: float = 1.0,
        max_backoff: float = 60.0,
        on_restart: Callable[[str], None] | None = None,
    ) -> None:
        self.components: dict[str, Supervised] = {}
        self.initial_backoff = initial_backoff
        self.max_backoff = max_backoff
        self.on_restart = on_restart

    def start(self, component: Supervised) -> Supervised:
        self.components[component.name] = component
        component.task = asyncio.create_task(self._keep_alive(component), name=f"vigie:{component.name}")
        return component

    async def _keep_alive(self, component: Supervised) -> None:
        backoff = self.initial_backoff
        while True:
            component.state = "running"
            started = asyncio.get_running_loop().time()
            try:
                await component.run()
            except asyncio.CancelledError:
                component.state = "stopped"
                raise
            except Exception as exc:
                component.restarts += 1
                component.state = "restarting"
                component.last_error = f"{type(exc).__name__}: {exc}"
                component.last_error_at = to_iso(utcnow())
                log.exception("component %s crashed; restarting in %.1fs", component.name, backoff)
                if self.on_restart is not None:
                    self.on_restart(component.name)
                if asyncio.get_running_loop().time() - started > 5 * self.max_backoff:
                    backoff = self.initial_backoff  # it had been healthy for a while
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff)
                continue
            if component.finite:
                component.state = "finished"
                return
            log.warning("component %s returned; restarting", component.name)
            await asyncio.sleep(backoff)

    async def stop(self, names: list[str] | None = None, timeout: float = 5.0) -> None:
        targets = [c for c in self.components.values() if names is None or c.name in names]
        tasks = [c.task for c in targets if c.task is not None and not c.task.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)
        for component in targets:
            if component.state not in ("finished",):
                component.state = "stopped"

    def status(self) -> dict[str, dict[str, Any]]:
        return {name: component.status() for name, component in self.components.items()}
