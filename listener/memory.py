"""Native memory of a long-running, multi-threaded daemon: glibc's allocator keeps what Python frees.

Why: with one malloc arena per thread (pipeline, evaluation, outbox, store readers…) and the transient
arrays of the models' loading, `vigie run` held ~100 MiB it no longer used (bench/bench_load.py). Both calls
are no-ops where glibc is absent (macOS, musl)."""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger("vigie.memory")
_M_ARENA_MAX = -8  # mallopt parameter (malloc.h)


def _glibc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        libc.malloc_trim, libc.mallopt  # noqa: B018  # glibc only
    except (OSError, AttributeError):
        return None
    return libc


_LIBC = _glibc()


def limit_malloc_arenas(arenas: int = 2) -> None:
    """Threads share `arenas` malloc arenas instead of one each (call before starting threads)."""
    if _LIBC is not None and not _LIBC.mallopt(_M_ARENA_MAX, arenas):
        log.debug("mallopt(M_ARENA_MAX) refused")


def release_free_memory() -> None:
    """Hand the allocator's free pages back to the system (after loading models, after a pass)."""
    if _LIBC is not None:
        _LIBC.malloc_trim(0)
