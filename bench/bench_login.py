#!/usr/bin/env python
"""Password logins/s through `pacte serve` on one core against raw argon2id verifications/s on one core;
the logged-in account page against a bare Django view, same server, same run."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _server import PACTE, bench_env, figure, pacte_server, wrk  # noqa: E402

SERVER_CPU = 0  # the server's single gunicorn worker and the argon2 measurement share this core
CLIENT_CPU = 1  # wrk runs here when the machine has a second core
ROUNDS = 3
LOGIN_SECONDS = 4
ARGON2_SECONDS = 3
# allauth.usersessions lists (and loads) every session a user holds on each login and on /account/, so
# both slow down with the sessions a user has piled up. Rotate the logins over many customers (each holds
# about one session by the end) and show /account/ to one customer the login load never touches.
CUSTOMERS = 400

# allauth limits every login POST (successful or not) to 30 a minute per client address ("login":
# "30/m/ip"); all of wrk's requests come from 127.0.0.1, so the server runs Pacte's settings with that one
# limit lifted. The limit on failed logins stays as configured.
SETTINGS = """from _settings import *  # noqa: F403

ACCOUNT_RATE_LIMITS = {**ACCOUNT_RATE_LIMITS, "login": None}  # noqa: F405
"""

# wrk script: POST the login form, rotating over the demo customers; count outcomes per thread.
# A successful login is a 302 to /account/; a 200 is the form shown again (a failed login).
LUA = """
local bodies = {%(bodies)s}
local i = 0
ok, form, limited, other = 0, 0, 0, 0
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

request = function()
  i = i %% #bodies + 1
  return wrk.format("POST", "%(path)s", {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Cookie"] = "%(cookie)s",
    ["Origin"] = "%(origin)s",
    ["Referer"] = "%(origin)s%(path)s",
  }, bodies[i])
end

response = function(status, headers, body)
  local location = headers["Location"] or headers["location"] or ""
  if status == 302 and string.find(location, "/account/", 1, true) then
    ok = ok + 1
  elseif status == 200 then
    form = form + 1
  elseif status == 429 then
    limited = limited + 1
  else
    other = other + 1
  end
end

done = function(summary, latency, requests)
  local t = {ok = 0, form = 0, limited = 0, other = 0}
  for _, thread in ipairs(threads) do
    for key, _ in pairs(t) do
      t[key] = t[key] + (thread:get(key) or 0)
    end
  end
  io.write(string.format("LOGIN ok=%%d form=%%d limited=%%d other=%%d\\n", t.ok, t.form, t.limited, t.other))
end
"""


def run(command: list[str], env: dict[str, str]) -> str:
    return subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout


def prepare(home: Path) -> dict:
    """Migrate the three databases and create the demo customers in ``home``, as `make run` does."""
    env = bench_env(home)
    for database in ("default", "keys", "telemetry"):
        run([*PACTE, "migrate", "--database", database, "--verbosity", "0"], env)
    return json.loads(run([*PACTE, "demo", "seed", "--customers", str(CUSTOMERS), "--json"], env))


def _request(
    base: str, method: str, path: str, *, body: str | None = None, headers: dict[str, str] | None = None
) -> http.client.HTTPResponse:
    parts = urllib.parse.urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    connection.request(method, path, body=body, headers=headers or {})
    response = connection.getresponse()
    response.body = response.read()  # type: ignore[attr-defined]
    connection.close()
    return response


def _cookie(response: http.client.HTTPResponse, name: str) -> str | None:
    for header in response.headers.get_all("Set-Cookie") or []:
        match = re.match(rf"{name}=([^;]*)", header)
        if match:
            return match.group(1)
    return None


def login_form(base: str) -> tuple[str, str, str]:
    """GET the login page (following the language redirect): its path, the CSRF cookie and form token."""
    path = "/accounts/login/"
    for _ in range(3):
        response = _request(base, "GET", path)
        if response.status in (301, 302):
            path = urllib.parse.urlsplit(response.headers["Location"]).path
            continue
        break
    if response.status != 200:
        raise RuntimeError(f"GET {path} answered {response.status}")
    cookie = _cookie(response, "csrftoken")
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', response.body)  # type: ignore[attr-defined]
    if not cookie or not token:
        raise RuntimeError("no CSRF cookie or token on the login page")
    return path, cookie, token.group(1).decode()


def login_body(email: str, password: str, token: str) -> str:
    return urllib.parse.urlencode({"csrfmiddlewaretoken": token, "login": email, "password": password})


def login_once(base: str, path: str, cookie: str, body: str) -> str:
    """One real login; return its session cookie, or fail loudly if it did not go to /account/."""
    response = _request(
        base,
        "POST",
        path,
        body=body,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"csrftoken={cookie}",
            "Origin": base,
            "Referer": base + path,
        },
    )
    location = response.headers.get("Location", "")
    session = _cookie(response, "sessionid")
    if response.status != 302 or "/account/" not in location or not session:
        raise RuntimeError(f"login failed: {response.status} → {location!r}")
    return session


def wrk_logins(script: Path, url: str, *, seconds: float, connections: int) -> dict[str, float]:
    command = ["wrk", "-d", f"{seconds}s", "-c", str(connections), "-t", "1", "-s", str(script), url]
    if (os.cpu_count() or 1) > 1:
        command = ["taskset", "-c", str(CLIENT_CPU), *command]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    match = re.search(r"LOGIN ok=(\d+) form=(\d+) limited=(\d+) other=(\d+)", out)
    if not match:
        raise RuntimeError("wrk printed no login counts:\n" + out)
    ok, form, limited, other = (int(x) for x in match.groups())
    duration = re.search(r"requests in ([\d.]+)(ms|s|m)", out)
    elapsed = (
        float(duration.group(1)) * {"ms": 0.001, "s": 1.0, "m": 60.0}[duration.group(2)]
        if duration
        else seconds
    )
    return {"rps": ok / elapsed, "ok": ok, "form": form, "limited": limited, "other": other}


def argon2_rate(seconds: float) -> float:
    """Raw argon2id verifications/s with Pacte's hasher parameters, this process pinned to one core."""
    import argon2

    from pacte.core.hashers import PacteArgon2PasswordHasher as Pacte

    hasher = argon2.PasswordHasher(
        time_cost=Pacte.time_cost,
        memory_cost=Pacte.memory_cost,
        parallelism=Pacte.parallelism,
        type=argon2.Type.ID,
    )
    password = "demo-pacte-2026"  # noqa: S105
    encoded = hasher.hash(password)
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {SERVER_CPU})
    try:
        hasher.verify(encoded, password)  # warm-up
        count, started = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - started) < seconds:
            hasher.verify(encoded, password)
            count += 1
    finally:
        os.sched_setaffinity(0, before)
    return count / elapsed


def alternate_pages(pages: dict[str, tuple[str, str | None]]) -> dict[str, dict[str, float]]:
    """Like _server.alternate, with each URL's own session cookie (or none); medians of ROUNDS rounds."""
    samples: dict[str, list[dict[str, float]]] = {name: [] for name in pages}

    def load(url: str, session: str | None, seconds: float) -> dict[str, float]:
        headers = {"Cookie": f"sessionid={session}"} if session else None
        return wrk(url, seconds=seconds, connections=8, threads=1, headers=headers)

    for url, session in pages.values():  # warm-up
        load(url, session, 1)
    for _ in range(ROUNDS):
        for name, (url, session) in pages.items():
            samples[name].append(load(url, session, 3))
    return {
        name: {key: statistics.median(s[key] for s in runs) for key in runs[0]}
        for name, runs in samples.items()
    }


def ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


def main() -> None:
    if shutil.which("wrk") is None:
        print("# skipped: bench_login needs wrk (POST bodies through a Lua script)")
        return
    home = Path(tempfile.mkdtemp(prefix="pacte-bench-login-"))
    try:
        demo = prepare(home)
        emails = [person["email"] for person in demo["people"]]
        (home / "bench_login_settings.py").write_text(SETTINGS)
        extra_env = {
            "DJANGO_SETTINGS_MODULE": "bench_login_settings",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(home), bench_env(home)["PYTHONPATH"]])),
        }
        with pacte_server(web_workers=1, cpus=str(SERVER_CPU), home=home, extra_env=extra_env) as server:
            base = server.base_url
            path, cookie, token = login_form(base)
            bodies = [login_body(email, demo["password"], token) for email in emails]
            # Proves the form logs in before any load; this customer is kept out of the login load.
            session = login_once(base, path, cookie, bodies.pop())
            account_check = _request(base, "GET", "/account/", headers={"Cookie": f"sessionid={session}"})
            if account_check.status != 200:
                raise RuntimeError(f"GET /account/ with the session answered {account_check.status}")
            script = home / "login.lua"
            script.write_text(
                LUA
                % {
                    "bodies": ", ".join(json.dumps(body) for body in bodies),
                    "path": path,
                    "cookie": f"csrftoken={cookie}",
                    "origin": base,
                }
            )
            wrk_logins(script, server.url(path), seconds=1, connections=4)  # warm-up
            logins, argon2s = [], []
            for _ in range(ROUNDS):  # alternate: argon2 on core 0 (server idle), then logins on core 0
                argon2s.append(argon2_rate(ARGON2_SECONDS))
                logins.append(wrk_logins(script, server.url(path), seconds=LOGIN_SECONDS, connections=4))
            pages = alternate_pages(
                {
                    "account": (server.url("/account/"), session),
                    "bare": (server.url("/_bench/bare"), None),
                    "bare_session": (server.url("/_bench/bare"), session),
                }
            )
        failed = {key: sum(int(r[key]) for r in logins) for key in ("form", "limited", "other")}
        succeeded = sum(int(r["ok"]) for r in logins)
        print(f"# logins under load: {succeeded} answered 302 to /account/; failed: {failed}")
        if failed["form"] or failed["other"]:
            print("# warning: some logins failed under load (200 = the login form shown again)")
        if failed["limited"]:
            print("# warning: allauth's rate limit answered 429")
        account, bare, bare_session = pages["account"], pages["bare"], pages["bare_session"]
        if any(page["errors"] for page in pages.values()):
            print(
                "# warning: non-2xx responses " + str({name: page["errors"] for name, page in pages.items()})
            )
        login_rps = statistics.median(r["rps"] for r in logins)
        argon2_per_s = statistics.median(argon2s)
        figure("login_rps", login_rps, "logins/s")
        figure("argon2_verify_per_s", argon2_per_s, "verifications/s")
        figure("login_vs_argon2_ratio", ratio(login_rps, argon2_per_s), "x", goal="≥ 0.85")
        figure("account_page_rps", account["rps"], "req/s")
        figure("bare_rps", bare["rps"], "req/s")
        figure("bare_with_session_rps", bare_session["rps"], "req/s")
        figure("account_p99", account["p99_ms"], "ms")
        figure("account_vs_bare_ratio", ratio(account["rps"], bare["rps"]), "x")
        figure("account_vs_bare_with_session_ratio", ratio(account["rps"], bare_session["rps"]), "x")
    finally:
        with contextlib.suppress(OSError):
            shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
