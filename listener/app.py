"""The daemon's parts wired together, and the hooks through which each area plugs in.

Areas do not reach into each other; each has a manifest (listed in the composition root, listener/areas.py)
whose `setup(host)` registers what it brings: long-running components, a step of the per-minute evaluation
(in the order the manifests declare), scheduled jobs, web routes and health reports, and what it offers
other areas under a typed key (`provide`/`get`) or as events (`subscribe`/`emit`). Registration is frozen
once every area is set up. Data flows one way: source → pipeline → store → detectors → rules → alerts,
each stage reading what the previous one wrote in the store.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import aiohttp
from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from listener import areas as composition
from listener.clock import Clock, EvaluationWatch, ReplayClock
from listener.host import AreaManifest, Event, Key
from listener.memory import release_free_memory
from listener.metrics import Metrics
from listener.pipeline import Pipeline
from listener.settings import Settings
from listener.sources import Source, SourceContext
from listener.sources import registry as source_registry
from listener.store import Store
from listener.supervisor import Supervised, Supervisor
from listener.timeutil import bucket_start, minute_bucket

log = logging.getLogger("vigie.app")
T = TypeVar("T")

# After a long stop or a clock jumping ahead, the evaluation catches up on this many minutes at most.
MAX_CATCH_UP_MINUTES = 60
# Live, between two passes, the steps read what was stored since their last read this often (seconds):
# often enough that each read is short (at 1,000 mentions/s, 5 s of mentions held the GIL ~0.7 s, and the
# requests waiting on the pipeline meanwhile made the p99 of bench_load).
ABSORB_EVERY_SECONDS = 1.0


@dataclass
class EvaluationStep:
    name: str
    order: int
    run: Callable[[datetime], Any]
    # Between passes: read and prepare what was stored since (so the pass does not read a minute at once).
    absorb: Callable[[], Any] | None = None


@dataclass
class Job:
    name: str
    func: Callable[[], Any]
    cron: str | None = None
    interval_seconds: float | None = None


class Vigie:
    """One daemon instance: settings, store, clock, pipeline and everything registered on it."""

    def __init__(
        self,
        settings: Settings,
        *,
        store: Store | None = None,
        clock: Clock | None = None,
        classifier: Any = None,
        deliver: bool = True,
        web_enabled: bool | None = None,
        areas: tuple[AreaManifest, ...] = composition.AREAS,
    ) -> None:
        self.settings = settings
        self.clock = clock or Clock()
        self.metrics = Metrics()
        self.store = store or composition.open_store(settings.resolve(settings.store.path),
                                                     busy_timeout_ms=int(settings.store.busy_timeout_seconds * 1000))
        self.deliver = deliver
        self.web_enabled = settings.web.enabled if web_enabled is None else web_enabled
        self.tz = ZoneInfo(settings.institution.timezone)
        if classifier is None and settings.pipeline.classify:
            from classifiers import classifier_settings, load_classifier

            classifier = load_classifier(classifier_settings(settings.classifiers, settings.resolve), settings.institution)
        self.classifier = classifier
        self.pipeline = Pipeline(
            self.store,
            clock=self.clock,
            metrics=self.metrics,
            classifier=classifier if settings.pipeline.classify else None,
            languages=settings.pipeline.languages,
            watch_keywords=settings.pipeline.watch_keywords,
            queue_batches=settings.pipeline.queue_batches,
            dedupe_cache_size=settings.pipeline.dedupe_cache_size,
        )
        self.supervisor = Supervisor(on_restart=lambda name: self.metrics.component_restarts.labels(component=name).inc())
        self.sources: list[Source] = []
        self.evaluation_steps: list[EvaluationStep] = []
        self.jobs: list[Job] = []
        self.routes: list[web.RouteDef] = []
        self.components: list[Supervised] = []
        self.health_reports: dict[str, Callable[[], dict[str, Any]]] = {}
        self.shutdown_hooks: list[Callable[[], Awaitable[None] | None]] = []
        self._provided: dict[Key[Any], Any] = {}
        self._handlers: dict[Event, list[Callable[[], None]]] = {}
        self._orders = composition.evaluation_order(areas)
        self._setting_up: AreaManifest | None = None
        self._frozen = False
        self.http: aiohttp.ClientSession | None = None
        self.web_runner: web.AppRunner | None = None
        self.web_port: int | None = None
        self.scheduler: AsyncIOScheduler | None = None
        self.last_evaluated_bucket: int | None = None
        self.stopping = asyncio.Event()
        self._evaluation_lock = asyncio.Lock()
        self._through_lock = asyncio.Lock()
        self._evaluation_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vigie-evaluation")
        self.evaluation_watch = EvaluationWatch(self.settings.detectors.interval_seconds, replay=self.clock.replay)
        self.source_context = SourceContext(store=self.store, clock=self.clock, metrics=self.metrics)
        for source_settings in settings.sources:
            if source_settings.enabled:
                self.sources.append(source_registry.create(source_settings, self.source_context))
        self.add_job("retention", self.purge_retention, cron=settings.store.purge_cron)
        for area in areas:
            if area.setup is not None:
                self._setting_up = area
                try:
                    area.setup(self)
                finally:
                    self._setting_up = None
        self._frozen = True

    # -- registration hooks (open while the areas set up) -------------------------------------------

    def _registering(self, what: str) -> None:
        if self._frozen:
            raise RuntimeError(f"{what}: registration is closed once the areas are set up (register in setup)")

    def add_component(self, name: str, run: Callable[[], Awaitable[None]], health=None, finite=False) -> None:
        self._registering(f"component {name}")
        self.components.append(Supervised(name=name, run=run, health=health, finite=finite))

    def add_evaluation_step(self, name: str, run: Callable[[datetime], Any], *,
                            absorb: Callable[[], Any] | None = None) -> None:
        """A per-minute step, run in the order the areas' manifests declare (`evaluation={name: order}`).
        `absorb` (synchronous, optional) is called on the evaluation thread every few seconds between
        passes, live only: the step reads ahead there what its next pass needs."""
        self._registering(f"evaluation step {name}")
        area = self._setting_up
        if area is None or name not in area.evaluation:
            owner = area.name if area else "?"
            raise ValueError(f"evaluation step {name!r} is not declared in the {owner} area's manifest")
        self.evaluation_steps.append(EvaluationStep(name, self._orders[name], run, absorb))
        self.evaluation_steps.sort(key=lambda step: step.order)

    def add_job(self, name: str, func: Callable[[], Any], *, cron: str | None = None, interval_seconds=None) -> None:
        self._registering(f"job {name}")
        self.jobs.append(Job(name, func, cron, interval_seconds))

    def add_routes(self, routes: list[web.RouteDef]) -> None:
        self._registering("routes")
        self.routes.extend(routes)

    def add_health(self, name: str, report: Callable[[], dict[str, Any]]) -> None:
        self._registering(f"health {name}")
        self.health_reports[name] = report

    def on_shutdown(self, hook: Callable[[], Awaitable[None] | None]) -> None:
        self._registering("shutdown hook")
        self.shutdown_hooks.append(hook)

    # -- what areas offer each other ------------------------------------------------------------------

    def provide(self, key: Key[T], value: T) -> None:
        self._registering(f"key {key.name}")
        if key in self._provided:
            raise ValueError(f"{key!r} is already provided")
        self._provided[key] = value

    def get(self, key: Key[T]) -> T:
        """What an area provided under `key`; a missing key is a wiring bug (KeyError naming it)."""
        try:
            return self._provided[key]
        except KeyError:
            raise KeyError(f"{key!r} was not provided (is its area set up and enabled?)") from None

    def find(self, key: Key[T]) -> T | None:
        """Like `get`, for an area that may be disabled."""
        return self._provided.get(key)

    def subscribe(self, event: Event, handler: Callable[[], None]) -> None:
        self._registering(f"handler for {event.name}")
        self._handlers.setdefault(event, []).append(handler)

    def emit(self, event: Event) -> None:
        """Call every handler of `event`; one failing handler does not stop the others."""
        for handler in self._handlers.get(event, ()):
            try:
                handler()
            except Exception:
                log.exception("handler for %s failed", event.name)

    def purge_retention(self) -> int:
        """Scheduled job: drop mentions older than retention_days (personal data held by a public body)."""
        deleted = self.store.purge_older_than(self.settings.store.retention_days, self.clock.now())
        log.info("retention purge: %d mentions older than %d days deleted", deleted, self.settings.store.retention_days)
        return deleted

    # -- evaluation -------------------------------------------------------------------------------

    async def evaluate(self, as_of: datetime) -> None:
        """One detection and rules pass as of a moment (the end of a minute bucket).

        Synchronous steps (detection, rules) run on the evaluation thread, so the event loop keeps
        answering ingest, /healthz and the web UI during a heavy pass; async steps run on the loop."""
        async with self._evaluation_lock:
            loop = asyncio.get_running_loop()
            with self.metrics.evaluation_seconds.time():
                for step in self.evaluation_steps:
                    try:
                        if inspect.iscoroutinefunction(step.run):
                            await step.run(as_of)
                            continue
                        result = await loop.run_in_executor(self._evaluation_executor, step.run, as_of)
                        if asyncio.iscoroutine(result):
                            await result
                    except Exception:
                        log.exception("evaluation step %s failed at %s", step.name, as_of.isoformat())
            self.evaluation_watch.passed(as_of)
            release_free_memory()  # the pass dropped a minute of mentions read ahead

    async def evaluate_through(self, moment: datetime) -> None:
        """Evaluate every completed minute bucket up to `moment`, in order (catching up after a replay).

        Live, a wall clock stepped back (NTP, an operator) would leave every later minute "already
        evaluated" for as long as the step: the evaluation follows the new time instead, and health
        reports the step. A jump forward catches up on at most the last hour."""
        async with self._through_lock:
            last_complete = minute_bucket(moment) - 1
            if self.last_evaluated_bucket is None:
                self.last_evaluated_bucket = last_complete - 1
            elif not self.clock.replay:
                if last_complete < self.last_evaluated_bucket - 1:
                    self.evaluation_watch.stepped(moment, (last_complete - self.last_evaluated_bucket) * 60)
                    self.last_evaluated_bucket = last_complete - 1
                elif last_complete - self.last_evaluated_bucket > MAX_CATCH_UP_MINUTES:
                    self.evaluation_watch.stepped(moment, (last_complete - self.last_evaluated_bucket) * 60)
                    self.last_evaluated_bucket = last_complete - MAX_CATCH_UP_MINUTES
            interval = max(1, self.settings.detectors.interval_seconds // 60)
            while self.last_evaluated_bucket < last_complete:
                self.last_evaluated_bucket = min(self.last_evaluated_bucket + interval, last_complete)
                await self.evaluate(bucket_start(self.last_evaluated_bucket + 1))

    async def replay_gate(self, moment: datetime) -> None:
        """Causal replay: before a replay hands over the first mention of a new minute, everything it handed
        over is stored and every minute before `moment` is evaluated. Rules thus see, at each minute, exactly
        the mentions that had arrived by then (late ones count when they arrive), whatever the speed."""
        await self.flush_pipeline()
        await self.evaluate_through(moment)

    async def flush_pipeline(self) -> None:
        """Wait until every batch handed to the pipeline is stored (the consumer keeps running)."""
        pipeline = self.supervisor.components.get("pipeline")
        if pipeline is None or pipeline.task is None or pipeline.task.done():
            while not self.pipeline.queue.empty():
                item = self.pipeline.queue.get_nowait()
                self.pipeline.queue.task_done()
                if item is not None:
                    self.pipeline.handle(item.mentions, item.source, item.cursor)
            return
        await self.pipeline.queue.join()

    async def absorb(self) -> None:
        """Between passes: each step reads ahead, on the evaluation thread (a failure is logged; the
        pass reads what is left anyway)."""
        async with self._evaluation_lock:
            loop = asyncio.get_running_loop()
            for step in self.evaluation_steps:
                if step.absorb is None:
                    continue
                try:
                    await loop.run_in_executor(self._evaluation_executor, step.absorb)
                except Exception:
                    log.exception("evaluation step %s could not read ahead", step.name)

    async def _sleep_absorbing(self, moment: datetime) -> None:
        """Sleep until `moment` on the daemon's clock; live, absorb every ABSORB_EVERY_SECONDS meanwhile
        (monotonic time, whatever the wall clock does)."""
        if self.clock.replay or not any(step.absorb for step in self.evaluation_steps):
            await self.clock.sleep_until(moment)
            return
        sleeper = asyncio.ensure_future(self.clock.sleep_until(moment))
        try:
            while True:
                done, _ = await asyncio.wait({sleeper}, timeout=ABSORB_EVERY_SECONDS)
                if done:
                    sleeper.result()
                    return
                await self.absorb()
        finally:
            sleeper.cancel()

    async def _evaluation_loop(self) -> None:
        interval = timedelta(seconds=self.settings.detectors.interval_seconds)
        await self.clock.wait_started()
        if isinstance(self.clock, ReplayClock) and not self.clock.started:
            return  # a replay that stored nothing has no recorded minute to evaluate
        while True:
            now = self.clock.now()
            await self.evaluate_through(now)
            next_tick = bucket_start(minute_bucket(now) + 1) if interval.total_seconds() <= 60 else now + interval
            await self._sleep_absorbing(next_tick)
            if isinstance(self.clock, ReplayClock) and self.clock.closed:
                await self.evaluate_through(self.clock.now() + timedelta(minutes=1))
                return

    # -- lifecycle --------------------------------------------------------------------------------

    async def start(self) -> None:
        # Causal replay (replay_gate) whenever a replay feeds evaluation steps (not for ingest-only runs).
        self.source_context.replay_gate = self.replay_gate if self.clock.replay and self.evaluation_steps else None
        self.http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        self.source_context.http = self.http
        self._start_pipeline()
        for source in self.sources:
            self.supervisor.start(
                Supervised(
                    f"source:{source.name}",
                    lambda source=source: source.run(self.pipeline),
                    source.health.as_dict,
                    finite=getattr(source, "finite", source.type == "replay"),
                )
            )
        if self.evaluation_steps:
            self.supervisor.start(Supervised("evaluation", self._evaluation_loop, self.evaluation_watch.health,
                                             finite=self.clock.replay))
        for component in self.components:
            self.supervisor.start(component)
        self._start_scheduler()
        if self.web_enabled:
            await self._start_web()

    def _start_scheduler(self) -> None:
        if not self.jobs:
            return
        self.scheduler = AsyncIOScheduler(timezone=self.tz)
        for job in self.jobs:
            if job.cron:
                trigger = CronTrigger.from_crontab(job.cron, timezone=self.tz)
                self.scheduler.add_job(job.func, trigger, id=job.name, name=job.name, misfire_grace_time=3600)
            elif job.interval_seconds:
                self.scheduler.add_job(
                    job.func, "interval", seconds=job.interval_seconds, id=job.name, name=job.name
                )
        self.scheduler.start()

    async def _start_web(self) -> None:
        from listener.web import build_web_app

        application = build_web_app(self)
        self.web_runner = web.AppRunner(application, access_log=None)
        await self.web_runner.setup()
        site = web.TCPSite(self.web_runner, self.settings.web.host, self.settings.web.port)
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        self.web_port = sockets[0].getsockname()[1] if sockets else self.settings.web.port
        log.info("web server on http://%s:%s", self.settings.web.host, self.web_port)

    async def wait_for_sources(self) -> None:
        """Wait until every finite source (a replay) has handed over all it has."""
        finite = [c for c in self.supervisor.components.values() if c.name.startswith("source:") and c.finite]
        tasks = [c.task for c in finite if c.task is not None]
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    def _start_pipeline(self) -> None:
        self.supervisor.start(Supervised("pipeline", self.pipeline.run, self.pipeline.health, finite=True))

    async def finish_replay(self) -> None:
        """After a replay: drain the pipeline, then evaluate the last minutes of recorded time.

        The pipeline's consumer then starts again: a daemon left running after its replay (`vigie demo`)
        keeps storing what HTTP ingest and the spool hand over, as it says it does."""
        await self.stop_sources()
        await self.drain_pipeline()
        if self.evaluation_steps:
            await self.evaluate_through(self.clock.now() + timedelta(minutes=2))
        if not self.stopping.is_set():
            self._start_pipeline()

    async def stop_sources(self) -> None:
        await self.supervisor.stop([name for name in self.supervisor.components if name.startswith("source:")])

    async def drain_pipeline(self, timeout: float | None = None) -> None:
        """Store what is queued (for at most `timeout` seconds, if given); then stop after the batch in hand.

        Giving up loses nothing acknowledged: ingest's « queued » mentions wait in the spool, a source's
        cursor has not moved past what is still queued, and a waiting ingest caller is answered 503."""
        pipeline = self.supervisor.components.get("pipeline")
        if pipeline is None or pipeline.task is None or pipeline.task.done():
            # Consumer not running (never started or crashed): process what is queued here.
            while not self.pipeline.queue.empty():
                item = self.pipeline.queue.get_nowait()
                if item is not None:
                    item.resolve(self.pipeline.handle(item.mentions, item.source, item.cursor))
            return
        await self.pipeline.drain()
        try:
            await asyncio.wait_for(asyncio.shield(pipeline.task), timeout)
        except TimeoutError:
            log.warning("pipeline not drained within %.0fs: stopping after the batch in hand "
                        "(%d batches left to the spool and the sources' cursors)", timeout, self.pipeline.queue.qsize())
            self.pipeline.abandon = True
            try:
                await asyncio.wait_for(asyncio.shield(pipeline.task), 5.0)
            except TimeoutError:
                log.error("pipeline batch still running after 5 s: stopping anyway (its transaction is rolled back)")
                pipeline.task.cancel()

    async def stop(self) -> None:
        """Stop polling, drain the pipeline, run shutdown hooks, close the store."""
        self.stopping.set()
        await self.stop_sources()
        await self.drain_pipeline(self.settings.pipeline.drain_seconds)
        self.clock.close()
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
        others = [name for name in self.supervisor.components if name != "pipeline"]
        await self.supervisor.stop(others, timeout=3)
        for hook in self.shutdown_hooks:
            try:
                result = hook()
                if asyncio.iscoroutine(result):
                    await result
            except Exception:
                log.exception("shutdown hook failed")
        if self.web_runner is not None:
            await self.web_runner.cleanup()
        if self.http is not None:
            await self.http.close()
        try:
            await asyncio.wait_for(asyncio.to_thread(self.pipeline.close), 5.0)
            await asyncio.wait_for(asyncio.to_thread(self._evaluation_executor.shutdown), 5.0)
        except TimeoutError:
            log.error("pipeline or evaluation thread still busy at shutdown")
        self.store.close()

    def health(self) -> dict[str, Any]:
        components = self.supervisor.status()
        for name, report in self.health_reports.items():
            try:
                components[name] = report()
            except Exception as exc:
                components[name] = {"state": "error", "error": repr(exc)}
        bad = {"failing", "restarting", "error"}
        degraded = any(component.get("state") in bad for component in components.values())
        return {"status": "degraded" if degraded else "ok", "components": components}
