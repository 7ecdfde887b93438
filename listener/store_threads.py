"""Store calls of the web handlers, run off the event loop.

Why: a write waits up to `[store] busy_timeout_seconds` for SQLite's write lock; on the event loop a
foreign writer (a backup, a `sqlite3` shell, another Vigie command) would freeze every request, /healthz
included. So every web handler hands its store work to a thread here, and each thread uses its own
connection (`Store.conn` is per thread).

- `write(request, fn, *args)`: on the writer threads, inside one transaction (an action that touches
  several tables is all done or not at all); `write_each` when `fn` makes its own short transactions;
- `read(request, fn, *args)`: on the reader threads (WAL readers never wait for a writer, so reads are
  not queued behind a write that waits for the lock);
- `stream(request, make)`: an iterator (the CSV export) produced on a reader thread, chunk by chunk.

When the store cannot take the call (locked past the busy timeout, disk full, read-only), the caller
gets a 503 in French that says nothing was recorded and to try again; nothing is half-written.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

from aiohttp import web

from listener.store import Store, store_fault

T = TypeVar("T")
RETRY_AFTER_SECONDS = 2


def unavailable(reason: str) -> web.HTTPServiceUnavailable:
    """The 503 of a store fault: the action was not recorded, the caller may send it again."""
    return web.HTTPServiceUnavailable(
        text=json.dumps({"error": f"base de données indisponible ({reason}) : rien n'a été enregistré, "
                                  "réessayer dans un instant", "reason": reason}, ensure_ascii=False),
        content_type="application/json", headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


class _Failed:
    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


_DONE = object()


class StoreThreads:
    """The threads of the web side's store calls (an in-memory store has one shared connection: one thread)."""

    def __init__(self, store: Store, *, readers: int = 4, writers: int = 2) -> None:
        self.store = store
        if store.memory:
            self._readers = self._writers = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vigie-web-store")
        else:
            self._readers = ThreadPoolExecutor(max_workers=readers, thread_name_prefix="vigie-web-read")
            self._writers = ThreadPoolExecutor(max_workers=writers, thread_name_prefix="vigie-web-write")
        self.writing = 0  # writes handed over and not finished (a test waits for one to be in flight)
        self._count = threading.Lock()

    async def read(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await self._run(self._readers, partial(fn, *args, **kwargs))

    async def write(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await self._run(self._writers, partial(self._in_transaction, partial(fn, *args, **kwargs)))

    async def write_each(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """A write whose function runs its own short transactions (a password check must not hold the write
        lock while it hashes)."""
        return await self._run(self._writers, partial(self._counted, partial(fn, *args, **kwargs)))

    def _counted(self, call: Callable[[], T]) -> T:
        with self._count:
            self.writing += 1
        try:
            return call()
        finally:
            with self._count:
                self.writing -= 1

    def _in_transaction(self, call: Callable[[], T]) -> T:
        def atomic() -> T:
            with self.store.transaction():
                return call()

        return self._counted(atomic)

    async def _run(self, executor: ThreadPoolExecutor, call: Callable[[], T]) -> T:
        try:
            return await asyncio.get_running_loop().run_in_executor(executor, call)
        except Exception as exc:
            reason = store_fault(exc)
            if reason is None:
                raise
            raise unavailable(reason) from exc

    async def stream(self, make: Callable[[], Iterator[T]], *, ahead: int = 4) -> AsyncIterator[T]:
        """Items of `make()` produced on a reader thread, at most `ahead` of what the caller consumed."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=ahead)
        stop = threading.Event()

        def hand(item: Any) -> None:
            asyncio.run_coroutine_threadsafe(queue.put(item), loop).result()

        def produce() -> None:
            try:
                for item in make():
                    if stop.is_set():
                        return
                    hand(item)
            except BaseException as exc:  # handed to the caller, raised there
                if not stop.is_set():
                    hand(_Failed(exc))
                return
            if not stop.is_set():
                hand(_DONE)

        producer = loop.run_in_executor(self._readers, produce)
        try:
            while True:
                item = await queue.get()
                if item is _DONE:
                    return
                if isinstance(item, _Failed):
                    reason = store_fault(item.error)
                    if reason is None:
                        raise item.error
                    raise unavailable(reason) from item.error
                yield item
        finally:
            stop.set()
            while not producer.done():  # a producer blocked on a full queue: let it see `stop`
                while not queue.empty():
                    queue.get_nowait()
                await asyncio.wait([producer], timeout=0.05)

    async def close(self) -> None:
        """At shutdown: pending reads are dropped; writes in hand finish (off the loop: one may wait for the lock)."""
        self._readers.shutdown(wait=False, cancel_futures=True)
        if self._writers is not self._readers:
            await asyncio.to_thread(self._writers.shutdown, wait=True, cancel_futures=False)


STORE_THREADS: web.AppKey[StoreThreads] = web.AppKey("vigie.store_threads", StoreThreads)


def threads_of(request: web.Request) -> StoreThreads:
    return request.app[STORE_THREADS]


async def read(request: web.Request, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a store read of a web handler on a reader thread."""
    return await threads_of(request).read(fn, *args, **kwargs)


async def write(request: web.Request, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a store write of a web handler on a writer thread, in one transaction; 503 on a store fault."""
    return await threads_of(request).write(fn, *args, **kwargs)


async def write_each(request: web.Request, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run on a writer thread a function that makes its own transactions; 503 on a store fault."""
    return await threads_of(request).write_each(fn, *args, **kwargs)


def stream(request: web.Request, make: Callable[[], Iterator[T]]) -> AsyncIterator[T]:
    return threads_of(request).stream(make)
