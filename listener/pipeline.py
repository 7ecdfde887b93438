"""The ingest pipeline: dedupe → language → classify → store (+ counters + cursor, atomically).

Sources put batches on a bounded queue (back-pressure: a fast source waits rather than grows memory);
one consumer task takes them through the stages. Each stage is a small object with `process(batch)`,
so a stage can be swapped or tested alone.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass

from classifiers.language import UNDETERMINED, detect_language, primary_subtag
from classifiers.types import Classification, TextClassifier
from listener.clock import Clock
from listener.counting import KeyCounter
from listener.metrics import Metrics
from listener.models import MAX_FUTURE, Mention
from listener.sanitize import has_lone_surrogate, without_lone_surrogates
from listener.store import Store
from listener.timeutil import to_iso, utcnow

log = logging.getLogger("vigie.pipeline")


class DedupeStage:
    """Drops mentions already seen, before the costly stages: first within the batch, then against a
    bounded memory of recent (source, id) pairs, warmed from the store at start so a restart does not
    re-classify a source's overlap. The store's unique index stays the final guard for older ids."""

    def __init__(self, store: Store, cache_size: int) -> None:
        self.store = store
        self.cache_size = cache_size
        self.recent: OrderedDict[tuple[str, str], None] = OrderedDict()
        if cache_size:
            for source, external_id in reversed(store.recent_keys(cache_size)):
                self.recent[(source, external_id)] = None

    def process(self, batch: list[Mention]) -> list[Mention]:
        fresh: dict[tuple[str, str], Mention] = {}
        recent = self.recent
        for mention in batch:
            key = (mention.source, mention.external_id)
            if key not in recent and key not in fresh:
                fresh[key] = mention
        return list(fresh.values())

    def remember(self, mentions: list[Mention]) -> None:
        if not self.cache_size:
            return
        for mention in mentions:
            self.recent[(mention.source, mention.external_id)] = None
        while len(self.recent) > self.cache_size:
            self.recent.popitem(last=False)


class SanityStage:
    """What no source may hand over, whichever collector built it: a post dated more than a day ahead
    of the real time (a broken feed clock; it would never be purged) is rejected with its reason, and
    lone surrogates in strings become U+FFFD (they cannot be stored as UTF-8)."""

    def __init__(self, store: Store, metrics: Metrics) -> None:
        self.store = store
        self.metrics = metrics

    def process(self, batch: list[Mention]) -> list[Mention]:
        limit = utcnow() + MAX_FUTURE
        kept = []
        for mention in batch:
            if mention.created_at > limit:
                log.warning("mention %s/%s dated %s rejected: more than a day in the future",
                            mention.source, mention.external_id, to_iso(mention.created_at))
                self.store.reject(mention.source, "created_at: more than a day in the future", mention.to_dict())
                self.metrics.invalid_payloads.labels(source=mention.source).inc()
                continue
            for name in ("text", "external_id", "author_handle", "author_name", "url"):
                value = getattr(mention, name)
                if value and has_lone_surrogate(value):
                    setattr(mention, name, without_lone_surrogates(value))
            kept.append(mention)
        return kept


class LanguageStage:
    """A declared language is kept (primary subtag); otherwise py3langid decides, "und" when unsure."""

    def process(self, batch: list[Mention]) -> list[Mention]:
        for mention in batch:
            declared = primary_subtag(mention.lang)
            mention.lang = declared if declared and declared != UNDETERMINED else detect_language(mention.text)
        return batch


def _clean(value):
    return value.encode("utf-8", "replace").decode("utf-8") if isinstance(value, str) else value


def _without_surrogates(mention: Mention) -> Mention:
    """A copy whose strings are valid UTF-8 (unencodable characters become "?")."""
    from dataclasses import replace

    return replace(
        mention, text=_clean(mention.text), url=_clean(mention.url), author_handle=_clean(mention.author_handle),
        author_name=_clean(mention.author_name), external_id=_clean(mention.external_id),
        matched=[_clean(term) for term in mention.matched],
        # The source's payload stays for audit, as ASCII-escaped JSON.
        raw={"escaped_json": json.dumps(mention.raw)} if mention.raw is not None else None,
    )


class ClassifyStage:
    """Labels mentions in the configured languages; others are stored and counted unlabelled."""

    def __init__(self, classifier: TextClassifier, languages: list[str]) -> None:
        self.classifier = classifier
        self.languages = set(languages)

    def process(self, batch: list[Mention]) -> list[Mention]:
        targets = [m for m in batch if not self.languages or m.lang in self.languages]
        if targets:
            try:
                labels = self.classifier.classify_batch([m.text for m in targets])
            except Exception:
                log.exception("classifier failed on a batch of %d: classifying one by one", len(targets))
                labels = [self._classify_one(mention) for mention in targets]
            for mention, label in zip(targets, labels, strict=True):
                mention.labels = label
        return batch

    def _classify_one(self, mention: Mention) -> Classification | None:
        """A text the classifiers choke on is still stored and counted, only without labels."""
        try:
            return self.classifier.classify_batch([mention.text])[0]
        except Exception:
            log.exception("classifier failed on %s/%s: stored without labels", mention.source, mention.external_id)
            return None


class StoreStage:
    """Mentions, their counter increments and the source cursor go in one transaction."""

    def __init__(self, store: Store, counter: KeyCounter) -> None:
        self.store = store
        self.counter = counter

    def process(self, batch: list[Mention], source: str | None, cursor: str | None) -> list[Mention]:
        with self.store.transaction():
            inserted = self.store.insert_mentions(batch)
            self.store.add_counts(self.counter.count(inserted))
            if source is not None and cursor is not None:
                self.store.set_cursor(source, cursor)
        return inserted


@dataclass
class _Item:
    mentions: list[Mention]
    source: str
    cursor: str | None


class Pipeline:
    def __init__(
        self,
        store: Store,
        *,
        clock: Clock,
        metrics: Metrics,
        classifier: TextClassifier | None,
        languages: list[str],
        watch_keywords: list[str] | None = None,
        queue_batches: int = 64,
        dedupe_cache_size: int = 200_000,
    ) -> None:
        self.store = store
        self.clock = clock
        self.metrics = metrics
        self.dedupe = DedupeStage(store, dedupe_cache_size)
        self.sanity = SanityStage(store, metrics)
        self.language = LanguageStage()
        self.classify = ClassifyStage(classifier, languages) if classifier is not None else None
        self.storage = StoreStage(store, KeyCounter(watch_keywords or []))
        self.queue: asyncio.Queue[_Item | None] = asyncio.Queue(maxsize=queue_batches)
        self.processed_batches = 0
        self.stored = 0
        self.last_batch_at: float | None = None

    async def put(self, mentions: list[Mention], *, source: str, cursor: str | None = None) -> None:
        """Hand a batch over (waits while the queue is full). Empty batches still move the cursor."""
        await self.queue.put(_Item(list(mentions), source, cursor))
        self.metrics.pipeline_queue.set(self.queue.qsize())

    def process(self, mentions: list[Mention], source: str | None = None, cursor: str | None = None) -> list[Mention]:
        """Run one batch through every stage; returns the mentions newly stored."""
        started = time.perf_counter()
        fresh = self.dedupe.process(mentions)
        duplicates = len(mentions) - len(fresh)
        fresh = self.language.process(self.sanity.process(fresh))
        if self.classify is not None:
            fresh = self.classify.process(fresh)
        inserted = self.storage.process(fresh, source, cursor)
        self.dedupe.remember(inserted)
        duplicates += len(fresh) - len(inserted)
        per_source: dict[str, int] = {}
        for mention in inserted:
            per_source[mention.source] = per_source.get(mention.source, 0) + 1
        for name, count in per_source.items():
            self.metrics.mentions_ingested.labels(source=name).inc(count)
        if duplicates and source is not None:
            self.metrics.mentions_duplicate.labels(source=source).inc(duplicates)
        self.metrics.pipeline_latency.observe(time.perf_counter() - started)
        self.processed_batches += 1
        self.stored += len(inserted)
        self.last_batch_at = time.time()
        return inserted

    def advance_clock(self, inserted: list[Mention]) -> None:
        """In a replay, time is the newest stored mention's (on the event loop's thread only)."""
        if inserted and self.clock.replay:
            self.clock.advance(max(mention.created_at for mention in inserted))  # type: ignore[attr-defined]

    def handle(self, mentions: list[Mention], source: str | None = None, cursor: str | None = None) -> list[Mention]:
        """Process a batch on the calling thread and move the replay clock."""
        inserted = self.process(mentions, source, cursor)
        self.advance_clock(inserted)
        return inserted

    async def run(self) -> None:
        """Consume batches until a None sentinel arrives (sent by `drain`)."""
        while True:
            item = await self.queue.get()
            try:
                if item is None:
                    return
                try:
                    self.handle(item.mentions, item.source, item.cursor)
                except Exception:
                    log.exception(
                        "pipeline failed on a batch of %d mentions from %s; retrying one by one",
                        len(item.mentions),
                        item.source,
                    )
                    self._process_one_by_one(item)
            finally:
                self.queue.task_done()
                self.metrics.pipeline_queue.set(self.queue.qsize())

    def _process_one_by_one(self, item: _Item) -> None:
        """Isolate a poison mention: store the good ones, keep the bad one in rejected_payloads."""
        for mention in item.mentions:
            try:
                self.handle([mention], item.source, None)
            except UnicodeEncodeError:
                # Lone surrogates (a "\ud800" escape in a JSON payload) cannot be stored as UTF-8:
                # keep the mention with those characters replaced rather than losing it.
                log.warning("mention %s/%s had unencodable characters: replaced", mention.source, mention.external_id)
                self._handle_or_reject(_without_surrogates(mention), item.source)
            except Exception as exc:
                self._reject(mention, exc)
        if item.cursor is not None:
            self.store.set_cursor(item.source, item.cursor)

    def _handle_or_reject(self, mention: Mention, source: str | None) -> None:
        try:
            self.handle([mention], source, None)
        except Exception as exc:
            self._reject(mention, exc)

    def _reject(self, mention: Mention, exc: Exception) -> None:
        log.exception("mention %s/%s rejected by the pipeline", mention.source, mention.external_id)
        self.store.reject(mention.source, f"pipeline: {type(exc).__name__}: {exc}", mention.to_dict())
        self.metrics.invalid_payloads.labels(source=mention.source).inc()

    async def drain(self) -> None:
        """Process everything already queued, then stop the consumer."""
        await self.queue.put(None)

    def health(self) -> dict[str, object]:
        return {"queued_batches": self.queue.qsize(), "batches": self.processed_batches, "stored": self.stored}
