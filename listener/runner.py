"""Running the daemon in the foreground: start everything, stop cleanly on SIGTERM/SIGINT.

systemd sends SIGTERM; we stop polling, drain the pipeline (everything a source handed over is stored),
run the areas' shutdown hooks and exit 0, well within systemd's default 90 s (we aim under 10 s).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable

from listener.app import Vigie
from listener.memory import release_free_memory

log = logging.getLogger("vigie.runner")


def install_signal_handlers(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # not on the main thread (tests)
            loop.add_signal_handler(signum, stop.set)


async def run_daemon(
    app: Vigie,
    *,
    until: Callable[[Vigie], Awaitable[None]] | None = None,
    stop_event: asyncio.Event | None = None,
) -> int:
    """Run until a signal (or until `until` finishes, then keep serving until a signal unless told to stop)."""
    stop = stop_event or asyncio.Event()
    install_signal_handlers(stop)
    await app.start()
    release_free_memory()  # what loading the models and areas allocated for a moment
    log.info("vigie started: %d sources, web %s", len(app.sources), app.web_port)
    waiter = asyncio.create_task(stop.wait())
    try:
        if until is not None:
            job = asyncio.create_task(until(app))
            done, _ = await asyncio.wait({job, waiter}, return_when=asyncio.FIRST_COMPLETED)
            if job in done:
                job.result()
            else:
                job.cancel()
        await waiter
    finally:
        log.info("stopping: draining the pipeline")
        try:
            await asyncio.wait_for(app.stop(), timeout=9)
        except TimeoutError:
            log.error("shutdown took longer than 9 s")
    return 0
