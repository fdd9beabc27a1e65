"""The client address: trusted proxies only, spoofed entries ignored, garbage gives None, truncation."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pacte.telemetry.client import MAX_HOPS, client_ip, truncate_ip

PROXIES = ["10.0.0.0/8", "2001:db8:ffff::/48"]


def ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    return ipaddress.ip_address(text)


def test_without_a_proxy_remote_addr_is_the_client_and_x_forwarded_for_is_ignored() -> None:
    meta = {"REMOTE_ADDR": "198.51.100.7", "HTTP_X_FORWARDED_FOR": "203.0.113.9"}
    assert client_ip(meta, trusted_proxies=[]) == ip("198.51.100.7")
    # An untrusted peer cannot choose its address by sending the header.
    assert client_ip(meta, trusted_proxies=PROXIES) == ip("198.51.100.7")


def test_a_trusted_proxy_gives_the_right_most_untrusted_entry() -> None:
    meta = {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "203.0.113.9"}
    assert client_ip(meta, trusted_proxies=PROXIES) == ip("203.0.113.9")


def test_a_chain_of_trusted_proxies_is_walked_from_the_right() -> None:
    meta = {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "203.0.113.9, 10.1.2.3,10.4.5.6"}
    assert client_ip(meta, trusted_proxies=PROXIES) == ip("203.0.113.9")


def test_spoofed_left_most_entries_are_ignored() -> None:
    # The client wrote "1.2.3.4, 10.9.9.9"; the proxy appended the address it saw.
    meta = {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "1.2.3.4, 10.9.9.9, 198.51.100.7"}
    assert client_ip(meta, trusted_proxies=PROXIES) == ip("198.51.100.7")
    # Garbage to the left of the real client does not matter either.
    meta["HTTP_X_FORWARDED_FOR"] = "<script>, not-an-ip, 198.51.100.7"
    assert client_ip(meta, trusted_proxies=PROXIES) == ip("198.51.100.7")


def test_ipv6_clients_and_proxies() -> None:
    meta = {"REMOTE_ADDR": "2001:db8:ffff::1", "HTTP_X_FORWARDED_FOR": "2a01:e0a:100::5, 2001:db8:ffff::9"}
    assert client_ip(meta, trusted_proxies=PROXIES) == ip("2a01:e0a:100::5")
    assert client_ip({"REMOTE_ADDR": "2a01:e0a:100::5"}, trusted_proxies=PROXIES) == ip("2a01:e0a:100::5")


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("198.51.100.7:51234", "198.51.100.7"),
        ("[2a01:e0a:100::5]:443", "2a01:e0a:100::5"),
        ("[2a01:e0a:100::5]", "2a01:e0a:100::5"),
        ("::ffff:198.51.100.7", "198.51.100.7"),
        ("fe80::1%eth0", "fe80::1"),
    ],
)
def test_ports_brackets_zones_and_mapped_addresses_are_understood(entry: str, expected: str) -> None:
    meta = {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": entry}
    assert client_ip(meta, trusted_proxies=PROXIES) == ip(expected)


def test_an_ipv4_mapped_remote_addr_matches_an_ipv4_proxy_network() -> None:
    meta = {"REMOTE_ADDR": "::ffff:10.0.0.2", "HTTP_X_FORWARDED_FOR": "203.0.113.9"}
    assert client_ip(meta, trusted_proxies=PROXIES) == ip("203.0.113.9")
    # and an IPv4-mapped proxy network matches a plain IPv4 REMOTE_ADDR.
    meta = {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "203.0.113.9"}
    assert client_ip(meta, trusted_proxies=["::ffff:10.0.0.0/104"]) == ip("203.0.113.9")


def test_a_single_cidr_string_is_one_network_not_one_per_character() -> None:
    meta = {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "203.0.113.9"}
    assert client_ip(meta, trusted_proxies="10.0.0.0/8") == ip("203.0.113.9")


@pytest.mark.parametrize(
    "header",
    ["not-an-ip", "unknown", "203.0.113.9, garbage", "203.0.113.9,,", "999.1.1.1", "[2001:db8::1", "☃"],
)
def test_garbage_where_the_client_should_be_gives_none(header: str) -> None:
    meta = {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": header}
    assert client_ip(meta, trusted_proxies=PROXIES) is None


@pytest.mark.parametrize("remote", ["", "garbage", "300.1.1.1", None, 42])
def test_a_missing_or_invalid_remote_addr_gives_none(remote: object) -> None:
    meta = {"HTTP_X_FORWARDED_FOR": "203.0.113.9"}
    if remote is not None:
        meta["REMOTE_ADDR"] = remote  # type: ignore[assignment]
    assert client_ip(meta, trusted_proxies=PROXIES) is None


def test_a_request_from_the_proxy_itself_is_the_proxy() -> None:
    assert client_ip({"REMOTE_ADDR": "10.0.0.2"}, trusted_proxies=PROXIES) == ip("10.0.0.2")
    meta = {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "10.3.3.3, 10.4.4.4"}
    assert client_ip(meta, trusted_proxies=PROXIES) == ip("10.3.3.3")


def test_more_than_max_hops_trusted_entries_give_none() -> None:
    chain = ", ".join(["203.0.113.9", *["10.0.0.1"] * (MAX_HOPS + 1)])
    assert (
        client_ip({"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": chain}, trusted_proxies=PROXIES) is None
    )
    chain = ", ".join(["203.0.113.9", *["10.0.0.1"] * MAX_HOPS])
    meta = {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": chain}
    assert client_ip(meta, trusted_proxies=PROXIES) == ip("203.0.113.9")


def test_invalid_trusted_proxy_entries_are_skipped_and_single_addresses_work() -> None:
    meta = {"REMOTE_ADDR": "192.0.2.10", "HTTP_X_FORWARDED_FOR": "203.0.113.9"}
    assert client_ip(meta, trusted_proxies=["nonsense", "192.0.2.10"]) == ip("203.0.113.9")
    assert client_ip(meta, trusted_proxies=["nonsense"]) == ip("192.0.2.10")


@given(
    remote=st.one_of(st.text(max_size=80), st.ip_addresses().map(str)),
    header=st.one_of(
        st.text(max_size=300),
        st.lists(st.one_of(st.ip_addresses().map(str), st.text(max_size=20)), max_size=40).map(", ".join),
    ),
)
def test_client_ip_never_raises_and_returns_an_address_or_none(remote: str, header: str) -> None:
    for proxies in ([], PROXIES, ["0.0.0.0/0", "::/0"]):
        result = client_ip({"REMOTE_ADDR": remote, "HTTP_X_FORWARDED_FOR": header}, trusted_proxies=proxies)
        assert result is None or isinstance(result, ipaddress.IPv4Address | ipaddress.IPv6Address)


def test_a_huge_header_is_answered_from_its_right_end() -> None:
    header = "1.1.1.1, " * 200_000 + "203.0.113.9"
    meta = {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": header}
    assert client_ip(meta, trusted_proxies=PROXIES) == ip("203.0.113.9")


@pytest.mark.parametrize(
    ("address", "truncated"),
    [
        ("192.0.2.123", "192.0.2.0"),
        ("198.51.100.255", "198.51.100.0"),
        ("2001:db8:abcd:1234:5678::1", "2001:db8:abcd::"),
        ("2a01:e0a:100:ffff::", "2a01:e0a:100::"),
        ("::ffff:192.0.2.123", "192.0.2.0"),
        ("fe80::1:2:3%eth0", "fe80::"),
    ],
)
def test_truncate_ip_keeps_the_ipv4_24_or_the_ipv6_48(address: str, truncated: str) -> None:
    assert truncate_ip(ip(address)) == truncated


@given(st.ip_addresses())
def test_truncation_forgets_the_host_part(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> None:
    truncated = ip(truncate_ip(address))
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    prefix = 24 if address.version == 4 else 48
    assert truncated == ipaddress.ip_network((address, prefix), strict=False).network_address
    assert truncated.version == address.version
