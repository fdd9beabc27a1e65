"""Login limits hold across web processes: a real `pacte serve` with three gunicorn workers.

The limits (10 wrong passwords a minute per client address, 10 per 5 minutes per account) live in the
shared cache (a table of the default database), so every worker counts the same guesses.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import pytest

WRONG = "The email address and/or password you specified are not correct."
TOO_MANY = "Too many failed login attempts. Try again later."


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("DATABASE_URL")}
    env.update(PACTE_HOME=str(home), DJANGO_SETTINGS_MODULE="pacte.settings")
    return env


class Browser:
    """A client with its own cookies, speaking from one loopback address (127.0.0.N)."""

    def __init__(self, port: int, source: str) -> None:
        self.port, self.source, self.cookies = port, source, {}

    def request(self, method: str, path: str, body: dict[str, str] | None = None) -> tuple[int, str, str]:
        connection = http.client.HTTPConnection(
            "127.0.0.1", self.port, timeout=30, source_address=(self.source, 0)
        )
        headers = {"Accept-Language": "en", "Host": "127.0.0.1"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        data = None
        if body is not None:
            data = urllib.parse.urlencode(body)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Referer"] = f"http://127.0.0.1:{self.port}{path}"
        connection.request(method, path, body=data, headers=headers)
        response = connection.getresponse()
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name] = rest.split(";", 1)[0]
        text = response.read().decode()
        connection.close()
        return response.status, response.getheader("Location") or "", text

    def login(self, email: str, password: str) -> tuple[int, str, str]:
        _status, _location, page = self.request("GET", "/accounts/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert token, page[:500]
        return self.request(
            "POST",
            "/accounts/login/",
            {"csrfmiddlewaretoken": token.group(1), "login": email, "password": password},
        )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    home = tmp_path_factory.mktemp("throttle") / "home"
    port = _free_port()
    log = (home.parent / "serve.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "pacte.cli", "serve", "--port", str(port), "--web-workers", "3"]
        + ["--no-worker", "--no-scheduler"],
        cwd=home.parent,
        env=_env(home),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, (
                    home.parent / "serve.log"
                ).read_text()
                time.sleep(0.3)
        seeded = subprocess.run(
            [sys.executable, "-m", "pacte.cli", "demo", "seed", "--customers", "2", "--json"],
            env=_env(home),
            capture_output=True,
            text=True,
            check=True,
        )
        people = json.loads(seeded.stdout)
        yield port, people["password"], [person["email"] for person in people["people"]]
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
        log.close()


def _outcome(answer: tuple[int, str, str]) -> str:
    status, location, page = answer
    if status == 302:
        return "signed in" if location != "/accounts/login/" else "refused"
    if TOO_MANY in page or status == 429:
        return "throttled"
    if WRONG in page:
        return "checked"
    return f"other {status}"


@pytest.mark.slow
def test_one_address_gets_ten_guesses_across_three_workers_and_then_not_even_the_right_one(server) -> None:
    port, password, emails = server
    outcomes = [_outcome(Browser(port, "127.0.0.2").login(emails[0], "wrong password")) for _ in range(30)]
    assert outcomes.count("checked") == 10, outcomes
    assert outcomes.count("throttled") == 20, outcomes
    # The right password right after is refused too: the address is locked out for the minute.
    assert _outcome(Browser(port, "127.0.0.2").login(emails[0], password)) == "throttled"


@pytest.mark.slow
def test_sixteen_addresses_get_ten_guesses_at_one_account_between_them(server) -> None:
    port, _password, emails = server
    outcomes = [
        _outcome(Browser(port, f"127.0.1.{n}").login(emails[1], "wrong password")) for n in range(1, 17)
    ]
    assert outcomes.count("checked") == 10, outcomes
    assert outcomes.count("throttled") == 6, outcomes
