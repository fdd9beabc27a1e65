"""Shared helpers for the benchmarks: start Pacte's production server, drive load with wrk.

Every benchmark compares Pacte against a baseline measured by the same server in the same run, because
the machines are shared and noisy: absolute figures from two runs are never comparable, ratios within a
run are.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACTE = [sys.executable, "-m", "pacte.cli"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    base_url: str
    home: Path
    env: dict[str, str]
    process: subprocess.Popen[bytes]

    def url(self, path: str) -> str:
        return self.base_url + path


def bench_env(home: Path, **extra: str) -> dict[str, str]:
    """Environment for a benchmark process: its own PACTE_HOME, the bench settings (Pacte's plus the bare
    baseline views), no debug."""
    env = dict(os.environ)
    pythonpath = os.pathsep.join(filter(None, [str(REPO / "bench"), os.environ.get("PYTHONPATH")]))
    env.update(
        PACTE_HOME=str(home), PACTE_DEBUG="0", DJANGO_SETTINGS_MODULE="_settings", PYTHONPATH=pythonpath
    )
    env.update(extra)
    return env


@contextlib.contextmanager
def pacte_server(
    *,
    web_workers: int = 2,
    cpus: str | None = None,
    policy: str | None = None,
    home: Path | None = None,
    extra_env: dict[str, str] | None = None,
) -> Iterator[Server]:
    """Run `pacte serve` (web only) on a free loopback port; stop its whole process group afterwards.

    ``extra_env`` is applied over bench_env() (it may override DJANGO_SETTINGS_MODULE)."""
    own_home = home is None
    home = home or Path(tempfile.mkdtemp(prefix="pacte-bench-"))
    port = free_port()
    env = bench_env(home)
    env.update(extra_env or {})
    command = [*PACTE, "serve", "--port", str(port), "--no-worker", "--no-scheduler"]
    command += ["--web-workers", str(web_workers)]
    if policy:
        command += ["--policy", policy]
    if cpus:
        command = ["taskset", "-c", cpus, *command]
    log = open(home / "server.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"server did not start; see {home / 'server.log'}:\n" + (home / "server.log").read_text()
                )
            time.sleep(0.2)
        yield Server(base_url=base, home=home, env=env, process=process)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()
        if own_home:
            shutil.rmtree(home, ignore_errors=True)


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not match:
        raise ValueError(f"cannot read a duration from {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def wrk(
    url: str,
    *,
    seconds: float = 3,
    connections: int = 8,
    threads: int = 1,
    headers: dict[str, str] | None = None,
) -> dict[str, float]:
    """Load ``url`` for ``seconds``; return requests/s and the p50/p99 latencies in ms."""
    if shutil.which("wrk") is None:
        return python_load(url, seconds=seconds, connections=connections, headers=headers)
    command = ["wrk", "--latency", "-d", f"{seconds}s", "-c", str(connections), "-t", str(threads)]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    out = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = int(non2xx.group(1)) if non2xx else 0
    return {"rps": rps, "p50_ms": p50, "p99_ms": p99, "errors": errors}


def python_load(
    url: str, *, seconds: float, connections: int, headers: dict[str, str] | None = None
) -> dict[str, float]:
    """A plain-Python fallback when wrk is missing (slower client: figures are lower bounds)."""
    print("# wrk not found: using the Python load generator", file=sys.stderr)
    latencies: list[float] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def worker() -> None:
        request = urllib.request.Request(url, headers=headers or {})
        while time.monotonic() < stop:
            started = time.perf_counter()
            with urllib.request.urlopen(request, timeout=10) as response:
                response.read()
            with lock:
                latencies.append((time.perf_counter() - started) * 1000)

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    latencies.sort()
    return {
        "rps": len(latencies) / seconds,
        "p50_ms": latencies[len(latencies) // 2],
        "p99_ms": latencies[int(len(latencies) * 0.99)],
        "errors": 0,
    }


def alternate(
    urls: dict[str, str], *, rounds: int = 3, seconds: float = 3, **kwargs: object
) -> dict[str, dict]:
    """Measure each URL in turn, ``rounds`` times (A B A B…), and keep the median of each figure."""
    samples: dict[str, list[dict[str, float]]] = {name: [] for name in urls}
    for name, url in urls.items():  # warm-up
        wrk(url, seconds=1, **kwargs)  # type: ignore[arg-type]
    for _ in range(rounds):
        for name, url in urls.items():
            samples[name].append(wrk(url, seconds=seconds, **kwargs))  # type: ignore[arg-type]
    return {
        name: {key: statistics.median(s[key] for s in runs) for key in runs[0]}
        for name, runs in samples.items()
    }


def figure(name: str, value: float, unit: str, goal: str | None = None) -> None:
    """Print one benchmark figure as `name: value unit (goal …)`."""
    text = f"{name}: {value:.3g} {unit}" if abs(value) < 1000 else f"{name}: {value:.0f} {unit}"
    if goal:
        text += f" (goal {goal})"
    print(text, flush=True)
