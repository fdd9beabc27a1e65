"""Login limits hold across web processes: a real `pacte serve` with three gunicorn workers.

The limits (10 wrong passwords a minute per client address, 10 per 5 minutes per account) live in the
shared cache (a table of the default database), so every worker counts the same guesses.
"""

from __future__ import annotations

import json

import pytest
from tests.live import Browser, free_port, pacte, start_serve, stop_serve

WRONG = "The email address and/or password you specified are not correct."
TOO_MANY = "Too many failed login attempts. Try again later."


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("throttle")
    port = free_port()
    proc = start_serve(
        folder, port, folder / "serve.log", None, "--web-workers", "3", "--no-worker", "--no-scheduler"
    )
    try:
        people = json.loads(pacte(folder / "home", "demo", "seed", "--customers", "2", "--json").stdout)
        yield port, people["password"], [person["email"] for person in people["people"]]
    finally:
        stop_serve(proc)


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
