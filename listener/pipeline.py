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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from classifiers.language import UNDETERMINED, detect_language, primary_subtag
from classifiers.types import Classification, TextClassifier
from listener.clock import Clock
from listener.counting import KeyCounter
from listener.metrics import Metrics
from listener.models import MAX_FUTURE, Mention
from listener.sanitize import without_lone_surrogates
from listener.store import Store, StoreUnavailable, store_fault
from listener.timeutil import to_iso, utcnow

log = logging.getLogger("vigie.pipeline")

# Faults after which the pipeline's connection is reopened before trying again (SQLite keeps a connection
# read-only once it found the file so).
# Most mentions stored in one transaction when batches queue up together.
COALESCE_MENTIONS = 2000
REOPEN_ON = {"base en lecture seule", "fichier de la base inaccessible", "erreur d'entrée-sortie du disque"}


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

    def forget(self, mentions: list[Mention]) -> None:
        """Undo `remember` for mentions whose transaction was rolled back."""
        for mention in mentions:
            self.recent.pop((mention.source, mention.external_id), None)

    def remember(self, mentions: list[Mention]) -> None:
        if not self.cache_size:
            return
        for mention in mentions:
            self.recent[(mention.source, mention.external_id)] = None
        while len(self.recent) > self.cache_size:
            self.recent.popitem(last=False)


class SanityStage:
    """What no source may hand over, whichever collector built it: a post dated more than a day ahead
    of the real time (a broken feed clock; it would never be purged) is rejected with its reason.
    (Lone surrogates are cleaned by Mention.from_dict, or replaced when a store insert trips on one.)"""

    def __init__(self, store: Store, metrics: Metrics) -> None:
        self.store = store
        self.metrics = metrics

    def process(self, batch: list[Mention]) -> list[Mention]:
        limit = utcnow() + MAX_FUTURE
        if all(mention.created_at <= limit for mention in batch):
            return batch
        kept = []
        for mention in batch:
            if mention.created_at > limit:
                log.warning("mention %s/%s dated %s rejected: more than a day in the future",
                            mention.source, mention.external_id, to_iso(mention.created_at))
                self.store.reject(mention.source, "created_at: more than a day in the future", mention.to_dict())
                self.metrics.invalid_payloads.labels(source=mention.source).inc()
                continue
            kept.append(mention)
        return kept


class LanguageStage:
    """A declared language is kept (primary subtag); otherwise py3langid decides, "und" when unsure."""

    def __init__(self) -> None:
        # Declared tag -> primary subtag: a source declares a handful of tags, read once each.
        self._declared: dict[str, str | None] = {}

    def _primary(self, tag: str | None) -> str | None:
        if type(tag) is not str:
            return primary_subtag(tag)
        declared = self._declared
        if tag not in declared:
            if len(declared) >= 1024:
                declared.clear()
            declared[tag] = primary_subtag(tag)
        return declared[tag]

    def process(self, batch: list[Mention]) -> list[Mention]:
        for mention in batch:
            declared = self._primary(mention.lang)
            mention.lang = declared if declared and declared != UNDETERMINED else detect_language(mention.text)
        return batch


def _clean(value):
    return without_lone_surrogates(value) if isinstance(value, str) else value


def _without_surrogates(mention: Mention) -> Mention:
    """A copy whose strings are valid UTF-8 (lone surrogates become U+FFFD)."""
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
    """Mentions, their counter increments, the source cursor and the spool rows they came from go in one
    transaction: a cursor never moves past a mention that is not stored, and an id is only handed back
    once committed (a failed commit leaves every mention without one)."""

    def __init__(self, store: Store, counter: KeyCounter) -> None:
        self.store = store
        self.counter = counter

    def process(
        self, batch: list[Mention], source: str | None, cursor: str | None, spool_ids: list[int] | None = None
    ) -> list[Mention]:
        try:
            with self.store.transaction():
                inserted = self.store.insert_mentions(batch)
                self.store.add_counts(self.counter.count(inserted))
                if source is not None and cursor is not None:
                    self.store.set_cursor(source, cursor)
                if spool_ids:
                    self.store.unspool(spool_ids)
        except BaseException as exc:
            for mention in batch:
                mention.id = None
            reason = store_fault(exc)
            if reason is not None and not isinstance(exc, StoreUnavailable):
                raise StoreUnavailable(reason) from exc
            raise
        return inserted


@dataclass
class _Item:
    mentions: list[Mention]
    source: str
    cursor: str | None
    spool_ids: list[int] = field(default_factory=list)
    # Resolved with the stored mentions (or StoreUnavailable) for a caller that waits (ingest).
    future: asyncio.Future[list[Mention]] | None = None

    def resolve(self, inserted: list[Mention] | None = None, error: BaseException | None = None) -> None:
        if self.future is None or self.future.done():
            return
        if error is not None:
            self.future.set_exception(error)
        else:
            self.future.set_result(inserted or [])


class Pipeline:
    """Batches are processed on one worker thread (classification and SQLite writes never hold the event
    loop); when the store cannot take writes the batch is kept and tried again with backoff, the queue
    fills and the sources wait (back-pressure), and health says why."""

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
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vigie-pipeline",
                                           initializer=store.bulk_writer)
        self.processed_batches = 0
        self.stored = 0
        self.last_batch_at: float | None = None
        # Why the store refuses writes now (None: it takes them), and since when (wall clock, ISO).
        self.fault: str | None = None
        self.fault_since: str | None = None
        self.faults = 0
        self.retry_initial = 0.2
        self.retry_max = 5.0
        # Set by the shutdown when the drain budget is spent: stop after the batch in hand.
        self.abandon = False

    async def put(
        self, mentions: list[Mention], *, source: str, cursor: str | None = None, spool_ids: list[int] | None = None
    ) -> None:
        """Hand a batch over (waits while the queue is full). Empty batches still move the cursor."""
        await self.queue.put(_Item(list(mentions), source, cursor, list(spool_ids or [])))
        self.metrics.pipeline_queue.set(self.queue.qsize())

    async def submit(self, mentions: list[Mention], *, source: str) -> asyncio.Future[list[Mention]]:
        """Hand a batch over and get a future resolved once it is committed (or the store refused it)."""
        future: asyncio.Future[list[Mention]] = asyncio.get_running_loop().create_future()
        await self.queue.put(_Item(list(mentions), source, None, future=future))
        self.metrics.pipeline_queue.set(self.queue.qsize())
        return future

    def process(
        self, mentions: list[Mention], source: str | None = None, cursor: str | None = None,
        spool_ids: list[int] | None = None,
    ) -> list[Mention]:
        """Run one batch through every stage; returns the mentions newly stored."""
        started = time.perf_counter()
        fresh = self.dedupe.process(mentions)
        duplicates = len(mentions) - len(fresh)
        try:
            fresh = self.language.process(self.sanity.process(fresh))
        except Exception as exc:
            reason = store_fault(exc)
            if reason is not None:
                raise StoreUnavailable(reason) from exc
            raise
        if self.classify is not None:
            fresh = self.classify.process(fresh)
        inserted = self.storage.process(fresh, source, cursor, spool_ids)
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
        """Consume batches until a None sentinel arrives (sent by `drain`) or the shutdown gives up.

        Batches waiting together (many small ingest calls under load) are stored in one transaction,
        up to COALESCE_MENTIONS mentions: one commit and one counter update instead of dozens."""
        while True:
            first = await self.queue.get()
            items: list[_Item] = []
            taken = 1
            sentinel = first is None
            if first is not None:
                items.append(first)
                total = len(first.mentions)
                while total < COALESCE_MENTIONS and not self.queue.empty():
                    following = self.queue.get_nowait()
                    taken += 1
                    if following is None:
                        sentinel = True
                        break
                    items.append(following)
                    total += len(following.mentions)
            try:
                if self.abandon:
                    for item in items:
                        item.resolve(error=StoreUnavailable("arrêt du service en cours"))
                elif items:
                    await self._handle_items(items)
            finally:
                for _ in range(taken):
                    self.queue.task_done()
                self.metrics.pipeline_queue.set(self.queue.qsize())
            if sentinel:
                return
            if self.abandon:
                self._fail_queued()
                return

    async def _handle_items(self, items: list[_Item]) -> None:
        """Store batches off the loop; while the store is unavailable, keep them and try again."""
        loop = asyncio.get_running_loop()
        delay = self.retry_initial
        while True:
            try:
                results = await loop.run_in_executor(self.executor, self._process_items, items)
            except StoreUnavailable as exc:
                if self.fault is None:
                    self.fault_since = to_iso(utcnow())
                    log.error("store unavailable (%s): holding %d mentions from %s, will retry", exc.reason,
                              sum(len(item.mentions) for item in items), ", ".join({item.source for item in items}))
                self.fault = exc.reason
                self.faults += 1
                # A waiting caller hears now (503, it may send again: duplicates are dropped); the batch
                # itself is kept and stored as soon as the store takes writes again.
                for item in items:
                    item.resolve(error=exc)
                if self.abandon:
                    return
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.retry_max)
                if exc.reason in REOPEN_ON:
                    await loop.run_in_executor(self.executor, self.store.reopen)
                continue
            except Exception as exc:  # a bug, not the data nor the store: the callers learn it, we carry on
                log.exception("pipeline failed on %d batches", len(items))
                for item in items:
                    item.resolve(error=exc)
                return
            if self.fault is not None:
                log.warning("store available again after %s (%s)", self.fault_since, self.fault)
            self.fault = None
            self.fault_since = None
            for item, inserted in zip(items, results, strict=True):
                self.advance_clock(inserted)
                item.resolve(inserted)
            return

    def _process_items(self, items: list[_Item]) -> list[list[Mention]]:
        """On the pipeline thread: several batches in one transaction, or each alone if that fails."""
        if len(items) == 1:
            return [self._process_item(items[0])]
        try:
            with self.store.transaction():
                return [self.process(item.mentions, item.source, item.cursor, item.spool_ids) for item in items]
        except Exception as exc:
            # Nothing of the group was committed: no id, and the dedupe memory forgets them.
            for item in items:
                for mention in item.mentions:
                    mention.id = None
                self.dedupe.forget(item.mentions)
            reason = store_fault(exc)
            if reason is not None:
                raise StoreUnavailable(reason) from exc
            log.warning("a group of %d batches failed together (%s): storing them one at a time", len(items), exc)
        return [self._process_item(item) for item in items]

    def _process_item(self, item: _Item) -> list[Mention]:
        """On the pipeline thread: the batch at once, or one by one to isolate a poison mention."""
        try:
            return self.process(item.mentions, item.source, item.cursor, item.spool_ids)
        except StoreUnavailable:
            raise
        except Exception:
            log.exception(
                "pipeline failed on a batch of %d mentions from %s; retrying one by one",
                len(item.mentions), item.source,
            )
            return self._process_one_by_one(item)

    def _process_one_by_one(self, item: _Item) -> list[Mention]:
        """Isolate a poison mention: store the good ones, keep the bad one in rejected_payloads. A store
        fault on the way stops here without moving the cursor (the whole batch is tried again)."""
        inserted: list[Mention] = []
        for mention in item.mentions:
            try:
                inserted += self.process([mention], item.source, None)
            except StoreUnavailable:
                raise
            except UnicodeEncodeError:
                # Lone surrogates (a "\ud800" escape in a JSON payload) cannot be stored as UTF-8:
                # keep the mention with those characters replaced rather than losing it.
                log.warning("mention %s/%s had unencodable characters: replaced", mention.source, mention.external_id)
                inserted += self._handle_or_reject(_without_surrogates(mention), item.source)
            except Exception as exc:
                self._reject(mention, exc)
        try:
            with self.store.transaction():
                if item.cursor is not None:
                    self.store.set_cursor(item.source, item.cursor)
                self.store.unspool(item.spool_ids)
        except Exception as exc:
            reason = store_fault(exc)
            if reason is not None:
                raise StoreUnavailable(reason) from exc
            raise
        return inserted

    def _handle_or_reject(self, mention: Mention, source: str | None) -> list[Mention]:
        try:
            return self.process([mention], source, None)
        except StoreUnavailable:
            raise
        except Exception as exc:
            self._reject(mention, exc)
            return []

    def _reject(self, mention: Mention, exc: Exception) -> None:
        log.exception("mention %s/%s rejected by the pipeline", mention.source, mention.external_id)
        try:
            self.store.reject(mention.source, f"pipeline: {type(exc).__name__}: {exc}", mention.to_dict())
        except Exception as fault:
            reason = store_fault(fault)
            if reason is not None:
                raise StoreUnavailable(reason) from fault
            raise
        self.metrics.invalid_payloads.labels(source=mention.source).inc()

    def _fail_queued(self) -> None:
        """At shutdown, batches never started: their callers hear so (spooled ones stay in the spool,
        a source's cursor did not move, so nothing acknowledged is lost)."""
        while not self.queue.empty():
            item = self.queue.get_nowait()
            self.queue.task_done()
            if item is not None:
                item.resolve(error=StoreUnavailable("arrêt du service en cours"))

    async def drain(self) -> None:
        """Process everything already queued, then stop the consumer."""
        await self.queue.put(None)

    def close(self) -> None:
        self.executor.shutdown(wait=True)

    def health(self) -> dict[str, object]:
        report: dict[str, object] = {"queued_batches": self.queue.qsize(), "batches": self.processed_batches,
                                     "stored": self.stored}
        if self.fault is not None:
            report.update(state="failing", store_fault=self.fault, fault_since=self.fault_since,
                          error=f"stockage impossible : {self.fault}")
        return report
