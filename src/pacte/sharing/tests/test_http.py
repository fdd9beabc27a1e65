"""The one outbound HTTP client: only declared hosts, https, public addresses; no redirect followed."""

from __future__ import annotations

import ipaddress
import socket

import pytest

from pacte.core.errors import PacteError
from pacte.sharing import http
from pacte.sharing.services import Disclosure
from pacte.sharing.tests.receivers import Receiver, local_policy

pytestmark = pytest.mark.django_db(databases=["default", "keys", "telemetry"])


@pytest.fixture
def receiver(tmp_path):
    running = Receiver(tmp_path).start()
    yield running
    running.kill()


def _refused(code: str, receiver: Receiver, **kwargs) -> PacteError:
    with pytest.raises(PacteError) as refused:
        http.send(method="POST", disclosure=None, content=b"{}", **kwargs)
    assert refused.value.code == code
    assert receiver.requests() == 0  # nothing reached the receiver
    return refused.value


def test_a_declared_host_is_reached_and_its_answer_returned(settings, tmp_path, receiver) -> None:
    local_policy(settings, tmp_path)
    answer = http.send(recipient="stripe", method="GET", url=f"http://127.0.0.1:{receiver.port}/landed",
                       disclosure=None)  # fmt: skip
    assert (answer.status, answer.content, answer.ok) == (200, b"landed", True)
    assert receiver.requests() == 1 and receiver.ids() == ["landed"]


def test_a_host_the_recipient_does_not_declare_is_refused_and_nothing_is_sent(receiver) -> None:
    # plusuite's stripe declares api.stripe.com only.
    error = _refused("sharing.undeclared_host", receiver, recipient="stripe", url=receiver.url)
    assert "127.0.0.1" in str(error.message) and "api.stripe.com" in str(error.message)
    _refused("sharing.undeclared_host", receiver, recipient="paypal", url="https://api.stripe.com/v1/charges")
    _refused(
        "sharing.undeclared_host", receiver, recipient="stripe", url="https://api.stripe.com.evil.example/"
    )


def test_an_undeclared_recipient_and_a_malformed_url_are_refused(settings, tmp_path, receiver) -> None:
    local_policy(settings, tmp_path)
    _refused("sharing.unknown_recipient", receiver, recipient="google", url=receiver.url)
    for url in (
        f"ftp://127.0.0.1:{receiver.port}/",
        "127.0.0.1/hook",
        f"http://u:p@127.0.0.1:{receiver.port}/",
    ):
        _refused("sharing.bad_url", receiver, recipient="stripe", url=url)


def test_plain_http_is_refused_unless_allowed(settings, tmp_path, receiver) -> None:
    local_policy(settings, tmp_path)
    settings.PACTE_SHARING_ALLOW_INSECURE = False
    _refused("sharing.insecure_url", receiver, recipient="stripe", url=receiver.url)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_a_host_resolving_to_this_machine_is_refused_in_production(
    settings, tmp_path, receiver, host
) -> None:
    local_policy(settings, tmp_path)
    settings.PACTE_SHARING_ALLOW_PRIVATE_NETWORKS = False
    error = _refused(
        "sharing.private_address", receiver, recipient="stripe", url=f"http://{host}:{receiver.port}/hook"
    )
    assert host in str(error.message)


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("10.1.2.3", False), ("172.16.0.1", False), ("192.168.1.1", False), ("169.254.169.254", False),
        ("100.64.0.1", False), ("0.0.0.0", False), ("::1", False), ("fe80::1", False), ("fc00::1", False),
        ("::ffff:127.0.0.1", False), ("224.0.0.1", False), ("240.0.0.1", False),
        ("93.184.215.14", True), ("2606:4700::1111", True),
    ],
)  # fmt: skip
def test_private_link_local_and_reserved_addresses_are_not_public(address: str, public: bool) -> None:
    assert http._public(ipaddress.ip_address(address)) is public


def test_a_redirect_is_returned_not_followed(settings, tmp_path, receiver) -> None:
    local_policy(settings, tmp_path)
    answer = http.send(recipient="stripe", method="POST", url=f"http://127.0.0.1:{receiver.port}/redirect",
                       disclosure=None, content=b"{}")  # fmt: skip
    assert answer.status == 302 and answer.headers["location"].endswith("/landed")
    assert receiver.requests() == 1 and receiver.ids() == []  # /landed never reached


def test_the_name_is_resolved_once_and_the_checked_address_is_the_one_connected_to(
    settings, tmp_path, receiver, monkeypatch
) -> None:
    """DNS rebinding: a second resolution would answer an unroutable address; the request still lands."""
    local_policy(settings, tmp_path)
    real = socket.getaddrinfo
    asked: list[str] = []

    def rebinding(host, port, *args, **kwargs):
        if host == "hooks.test":
            asked.append(host)
            address = "127.0.0.1" if len(asked) == 1 else "10.255.255.1"
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    answer = http.send(recipient="stripe", method="GET", url=f"http://hooks.test:{receiver.port}/landed",
                       disclosure=None, timeout=3)  # fmt: skip
    assert answer.status == 200 and asked == ["hooks.test"]


def test_an_unreachable_recipient_raises_send_failed_with_the_error_class_only(settings, tmp_path) -> None:
    local_policy(settings, tmp_path)
    down = Receiver(tmp_path)  # never started: nothing listens on its port
    with pytest.raises(http.SendFailed) as failed:
        http.send(recipient="stripe", method="POST", url=down.url, disclosure=None, content=b"{}")
    assert failed.value.code == "sharing.send_failed" and failed.value.reason == "ConnectError"


def test_a_disclosure_checked_for_another_recipient_is_refused(settings, tmp_path, receiver) -> None:
    local_policy(settings, tmp_path)
    other = Disclosure(recipient="paypal", purpose="payment", payload={"email": "a@example.com"},
                       categories_sent=("contact.email",), stripped=())  # fmt: skip
    with pytest.raises(PacteError) as refused:
        http.send(recipient="stripe", method="POST", url=receiver.url, disclosure=other, content=b"{}")
    assert refused.value.code == "sharing.disclosure_mismatch" and receiver.requests() == 0


def test_refusals_say_what_to_fix_in_french(receiver) -> None:
    from django.utils import translation

    with translation.override("fr"):
        error = _refused("sharing.undeclared_host", receiver, recipient="stripe", url=receiver.url)
    assert str(error.message).startswith(
        "La politique ne permet pas à Pacte de joindre 127.0.0.1 pour Stripe"
    )
    assert "[recipients.stripe]" in str(error.message)
