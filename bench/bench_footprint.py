#!/usr/bin/env python
"""What a web worker costs in memory after 10,000 mixed requests, and how long `pacte serve` takes to start.

Memory: the resident set (RSS) of the one gunicorn worker right after start-up (the baseline, same run)
and after 10,000 requests over a mix of public pages. Start-up: seconds from launching `pacte serve` to
its first 200 on /healthz, on a fresh PACTE_HOME (migrations included) and again on the same home;
baseline: the same interpreter importing and setting up Django (`python -c "django.setup()"`).
"""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _server import PACTE, REPO, bench_env, figure, free_port  # noqa: E402

MIX = ["/privacy/", "/", "/healthz", "/cookies/", "/accounts/login/", "/api/v1/openapi.json", "/terms/"]
REQUESTS = int(os.environ.get("PACTE_BENCH_FOOTPRINT_REQUESTS", "10000"))


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _gunicorn_worker(serve_pid: int) -> int:
    """The pid of the single gunicorn worker under `pacte serve` (its grandchild)."""
    for _ in range(100):
        out = subprocess.run(["ps", "-e", "-o", "pid=,ppid=,args="], capture_output=True, text=True).stdout
        rows = [line.split(None, 2) for line in out.splitlines() if line.strip()]
        masters = [int(pid) for pid, ppid, args in rows if int(ppid) == serve_pid and "gunicorn" in args]
        workers = [int(pid) for pid, ppid, args in rows if masters and int(ppid) == masters[0]]
        if workers:
            return workers[0]
        time.sleep(0.1)
    raise RuntimeError("no gunicorn worker found")


def _start(home: Path, port: int) -> tuple[subprocess.Popen[bytes], float]:
    started = time.perf_counter()
    process = subprocess.Popen(
        [*PACTE, "serve", "--port", str(port), "--web-workers", "1", "--no-worker", "--no-scheduler"],
        env=bench_env(home),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                if response.status == 200:
                    return process, time.perf_counter() - started
        except OSError:
            pass
        if process.poll() is not None:
            raise RuntimeError("pacte serve did not start")
        time.sleep(0.05)


def _stop(process: subprocess.Popen[bytes]) -> None:
    os.killpg(process.pid, signal.SIGINT)
    process.wait(timeout=30)


def main() -> None:
    home = Path(tempfile.mkdtemp(prefix="pacte-bench-footprint-"))
    try:
        django_setup = time.perf_counter()
        subprocess.run(
            [sys.executable, "-c", "import django; django.setup()"], env=bench_env(home), check=True, cwd=REPO
        )
        django_setup = time.perf_counter() - django_setup

        port = free_port()
        process, cold = _start(home, port)
        _stop(process)
        process, warm = _start(home, port)
        try:
            worker = _gunicorn_worker(process.pid)
            for path in MIX:  # one of each first: what every worker loads anyway
                urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10).read()
            before = _rss_kib(worker)
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            started = time.perf_counter()
            for number in range(REQUESTS):
                connection.request("GET", MIX[number % len(MIX)], headers={"Accept-Language": "fr"})
                connection.getresponse().read()
            elapsed = time.perf_counter() - started
            after = _rss_kib(worker)
        finally:
            _stop(process)
        figure("django_setup_s", django_setup, "s")
        figure("serve_cold_start_s", cold, "s")
        figure("serve_warm_start_s", warm, "s")
        figure("serve_warm_start_vs_django_setup", warm / django_setup, "x")
        figure("worker_rss_after_start", before / 1024, "MiB")
        figure(f"worker_rss_after_{REQUESTS}_requests", after / 1024, "MiB")
        figure("worker_rss_growth", (after - before) / 1024, "MiB")
        figure("mixed_requests_per_s_one_connection", REQUESTS / elapsed, "req/s")
    finally:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
