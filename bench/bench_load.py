"""Load: the real daemon (`vigie run`, the shipped config.toml: classification, detectors and rules on)
takes POST /api/ingest at 1,000 mentions/s for 60 s, on loopback.

The load is open-loop (a request every 50 ms whatever the answers, 50 mentions each, « stored » answers:
the default wait), so a stalled daemon shows as latency instead of slowing the sender down. Figures:
request latency p50 / p99 / max (target p99 ≤ 1 s), /healthz latency once a second during the load,
the daemon's peak RSS (target ≤ 500 MiB) and every mention accounted for in the store.
Environment: BENCH_LOAD_SECONDS / BENCH_LOAD_RATE override the duration and rate; BENCH_LOAD_LOG=path
keeps the daemon's log.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp

REPO = Path(__file__).resolve().parent.parent
TOKEN = "jeton-bench"
PER_REQUEST = 50


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def bench_config(tmp: Path, port: int) -> Path:
    """The shipped config.toml with its own store and port, without the network collectors."""
    text = (REPO / "config.toml").read_text(encoding="utf-8")
    text = re.sub(r"# ==== BEGIN sources.*?# ==== END sources ====\n", "", text, flags=re.S)
    text = text.replace('path = "vigie.db"', f'path = "{tmp / "load.db"}"', 1)
    text = re.sub(r"(?m)^port = 8080$", f"port = {port}", text, count=1)
    text = re.sub(r'(?m)^ingest_token_env = ".*"$', 'ingest_token_env = "BENCH_INGEST_TOKEN"', text, count=1)
    path = tmp / "load.toml"
    path.write_text(text, encoding="utf-8")
    return path


def texts() -> list[str]:
    """Real-looking French posts: the demo city's recorded day."""
    found = []
    with (REPO / "listener" / "demo" / "rivebelle.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            with contextlib.suppress(ValueError, KeyError, TypeError):
                text = json.loads(line)["text"]
                if text and text.strip():
                    found.append(text)
    return found


def rss_mib(pid: int) -> tuple[float, float]:
    """(current, peak) resident memory of a process, in MiB."""
    values = {}
    with contextlib.suppress(OSError), open(f"/proc/{pid}/status", encoding="ascii") as handle:
        for line in handle:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0]) / 1024
    return values.get("VmRSS", 0.0), values.get("VmHWM", 0.0)


async def wait_up(port: int, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError("the daemon exited at start-up")
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                    await response.read()
                    return
            await asyncio.sleep(0.2)
    raise RuntimeError("the daemon did not start")


async def load(port: int, pid: int, seconds: float, rate: float) -> dict:
    corpus = texts()
    url = f"http://127.0.0.1:{port}/api/ingest"
    latencies: list[float] = []
    health_latencies: list[float] = []
    statuses: dict[int, int] = {}
    answered = {"stored": 0, "duplicate": 0, "rejected": 0, "error": 0, "queued": 0}
    peak_rss = 0.0
    interval = PER_REQUEST / rate
    connector = aiohttp.TCPConnector(limit=200)
    async with aiohttp.ClientSession(connector=connector, headers={"Authorization": f"Bearer {TOKEN}"},
                                     timeout=aiohttp.ClientTimeout(total=120)) as http:

        async def send(n: int) -> None:
            now = datetime.now(UTC)
            items = [{"source": "charge", "external_id": f"c{n}-{k}", "text": corpus[(n * PER_REQUEST + k) % len(corpus)],
                      "created_at": (now - timedelta(seconds=k % 5)).isoformat(), "lang": "fr"}
                     for k in range(PER_REQUEST)]
            started = time.perf_counter()
            try:
                async with http.post(url, json=items) as response:
                    body = await response.json()
                    statuses[response.status] = statuses.get(response.status, 0) + 1
            except aiohttp.ClientError:
                statuses[0] = statuses.get(0, 0) + 1
                return
            latencies.append(time.perf_counter() - started)
            if os.environ.get("BENCH_LOAD_TRACE") and latencies[-1] > 0.5:
                print(f"  slow request {n} at +{started - begin:.1f} s: {latencies[-1]:.2f} s", flush=True)
            for result in body.get("results", []):
                answered[result["status"]] = answered.get(result["status"], 0) + 1

        async def watch() -> None:
            nonlocal peak_rss
            while True:
                started = time.perf_counter()
                with contextlib.suppress(aiohttp.ClientError):
                    async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                        await response.read()
                health_latencies.append(time.perf_counter() - started)
                peak_rss = max(peak_rss, rss_mib(pid)[0])
                await asyncio.sleep(1.0)

        watcher = asyncio.create_task(watch())
        tasks = []
        begin = time.perf_counter()
        n = 0
        while time.perf_counter() - begin < seconds:
            tasks.append(asyncio.create_task(send(n)))
            n += 1
            await asyncio.sleep(max(0.0, begin + n * interval - time.perf_counter()))
        await asyncio.gather(*tasks)
        metrics = ""
        with contextlib.suppress(aiohttp.ClientError):
            async with http.get(f"http://127.0.0.1:{port}/metrics") as response:
                metrics = await response.text()
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
    _, hwm = rss_mib(pid)
    return {"requests": n, "latencies": latencies, "health": health_latencies, "statuses": statuses,
            "answered": answered, "peak_rss": max(peak_rss, hwm), "sent": n * PER_REQUEST,
            "metrics": dict(re.findall(r"(?m)^(vigie_(?:evaluation_seconds|pipeline_batch_seconds)_(?:sum|count)) (\S+)$",
                                       metrics))}


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    seconds = float(os.environ.get("BENCH_LOAD_SECONDS", "60"))
    rate = float(os.environ.get("BENCH_LOAD_RATE", "1000"))
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        port = free_port()
        config = bench_config(tmp, port)
        env = {**os.environ, "BENCH_INGEST_TOKEN": TOKEN}
        log = (tmp / "daemon.log").open("wb")
        proc = subprocess.Popen([sys.executable, "-m", "listener.cli", "run", "--config", str(config)], cwd=REPO,
                                env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            asyncio.run(wait_up(port, proc))
            figures = asyncio.run(load(port, proc.pid, seconds, rate))
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
            log.close()
        if os.environ.get("BENCH_LOAD_LOG"):
            Path(os.environ["BENCH_LOAD_LOG"]).write_bytes((tmp / "daemon.log").read_bytes())
        conn = sqlite3.connect(tmp / "load.db")
        stored = conn.execute("SELECT count(*) FROM mentions WHERE source = 'charge'").fetchone()[0]
        conn.close()
    lat = figures["latencies"]
    p99 = percentile(lat, 0.99)
    print(f"load: {figures['sent']:,} mentions in {figures['requests']:,} requests over {seconds:.0f} s "
          f"({rate:,.0f} mentions/s offered, classification, detectors and rules on)")
    print(f"  POST /api/ingest latency: p50 {statistics.median(lat):.3f} s, p99 {p99:.3f} s, max {max(lat):.3f} s "
          f"(target p99 ≤ 1 s)  statuses {dict(sorted(figures['statuses'].items()))}")
    health = figures["health"]
    print(f"  /healthz during the load: max {max(health):.3f} s over {len(health)} probes")
    print(f"  daemon peak RSS: {figures['peak_rss']:.0f} MiB (target ≤ 500 MiB)")
    m = {k: float(v) for k, v in figures["metrics"].items()}
    if m.get("vigie_evaluation_seconds_count"):
        print(f"  detection + rules passes: {m['vigie_evaluation_seconds_count']:.0f}, "
              f"{m['vigie_evaluation_seconds_sum'] / m['vigie_evaluation_seconds_count']:.2f} s each on average "
              f"(on the evaluation thread)")
    if m.get("vigie_pipeline_batch_seconds_count"):
        print(f"  pipeline batches: {m['vigie_pipeline_batch_seconds_count']:.0f}, "
              f"{1000 * m['vigie_pipeline_batch_seconds_sum'] / m['vigie_pipeline_batch_seconds_count']:.1f} ms each")
    print(f"  answers: {figures['answered']}; in the store after the stop: {stored:,}")
    print(f"  load average (1, 5, 15 min) at the end: {', '.join(f'{v:.2f}' for v in os.getloadavg())} "
          f"on {os.cpu_count()} cores (figures from a busy machine are not the daemon's)")
    if figures["answered"].get("stored", 0) > stored:
        raise RuntimeError("mentions answered « stored » are missing from the store")
    if p99 > 1.0 or figures["peak_rss"] > 500:
        raise RuntimeError("load target missed")


if __name__ == "__main__":
    main()
