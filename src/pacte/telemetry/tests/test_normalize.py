"""Paths, referrers and search queries keep nothing personal and stay bounded on any input."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pacte.core.accesslog import redact_path
from pacte.telemetry.normalize import (
    MAX_HOST,
    MAX_PATH,
    MAX_QUERY,
    clean_path,
    normalize_query,
    referrer_host,
)

UUID = "7d1f0d8e-3c1b-4a4e-9a49-2b7d3f1e5c6a"
OWN = {"pacte.example", "localhost:8000"}


@pytest.mark.parametrize(
    ("path", "cleaned"),
    [
        ("/", "/"),
        ("/privacy/?utm_source=mail&email=a@b.c", "/privacy/"),
        ("/search/?q=jean+dupont", "/search/"),
        ("/page#section", "/page"),
        ("/u/ZXhhbXBsZS10b2tlbi0xMjM0NTY3ODkw/", "/u/:token/"),
        (f"/api/v1/subjects/{UUID}/export/", "/api/v1/subjects/:id/export/"),
        (
            "/accounts/password/reset/key/3f-c4x9ab-0f1e2d3c4b5a69788796/",
            "/accounts/password/reset/key/:token/",
        ),
        ("/contact/jean.dupont@example.org/", "/contact/:email/"),
        ("/café/über", "/café/über"),
    ],
)
def test_clean_path_drops_the_query_and_redacts_like_the_access_log(path: str, cleaned: str) -> None:
    assert clean_path(path) == cleaned


def test_clean_path_cuts_after_redacting_so_no_token_is_kept_in_part() -> None:
    token = "a1" * 30
    path = "/" + "x" * (MAX_PATH - 10) + f"/u/{token}/"
    cleaned = clean_path(path)
    assert len(cleaned) == MAX_PATH
    assert "a1a1" not in cleaned
    assert cleaned == redact_path(path)[:MAX_PATH]


def test_clean_path_bounds_a_huge_path_without_keeping_a_cut_token() -> None:
    # UUIDs shrink to ":id" when redacted: what lies far into the input can reach the output.
    path = "/" + f"{UUID}/" * 2000 + "tail"
    cleaned = clean_path(path)
    assert len(cleaned) <= MAX_PATH
    assert set(cleaned.strip("/").split("/")) == {":id"}


@given(st.text(max_size=3000))
def test_clean_path_never_raises_and_is_bounded(path: str) -> None:
    cleaned = clean_path(path)
    assert len(cleaned) <= MAX_PATH
    assert "?" not in cleaned


@pytest.mark.parametrize(
    ("referer", "host"),
    [
        ("https://www.Example.org/some/page?q=secret#x", "www.example.org"),
        ("http://news.example.com:8080/", "news.example.com"),
        ("HTTPS://EXAMPLE.NET", "example.net"),
        ("https://user:password@example.net/", "example.net"),
        ("https://bücher.de/katalog", "xn--bcher-kva.de"),
        ("https://xn--bcher-kva.de/", "xn--bcher-kva.de"),
        ("https://example.org./", "example.org"),
        ("http://[2001:db8::1]:8080/x", "2001:db8::1"),
        ("http://192.0.2.1/x", "192.0.2.1"),
    ],
)
def test_referrer_host_keeps_the_host_only(referer: str, host: str) -> None:
    assert referrer_host(referer, own_hosts=OWN) == host


@pytest.mark.parametrize(
    "referer",
    [
        "",
        "-",
        "/relative/path",
        "android-app://com.google.android.gm/",
        "ftp://example.org/",
        "javascript:alert(1)",
        "data:text/html,hello",
        "file:///etc/passwd",
        "https://",
        "https://[not-ipv6]/",
        "https://example.org:99999999/",
        "https://exa mple.org/",
        "https://exa<mple>.org/",
        "https://a..b/",
        "https://" + "a" * 64 + ".org/",
        "https://" + ".".join(["abcdefghi"] * 30) + "/",
        "https://example.org/" + "x" * 10_000,
    ],
)
def test_invalid_non_http_or_huge_referrers_give_nothing(referer: str) -> None:
    assert referrer_host(referer, own_hosts=OWN) == ""


@pytest.mark.parametrize(
    ("referer", "own"),
    [
        ("https://pacte.example/privacy/", OWN),
        ("https://PACTE.example:443/", OWN),
        ("http://localhost:8000/account/", OWN),
        ("https://shop.pacte.example/", {".pacte.example"}),
        ("https://pacte.example/", {".pacte.example"}),
        ("https://bücher.de/", {"xn--bcher-kva.de"}),
        ("https://xn--bcher-kva.de/", {"bücher.de"}),
    ],
)
def test_own_site_referrers_give_nothing(referer: str, own: set[str]) -> None:
    assert referrer_host(referer, own_hosts=own) == ""


def test_own_hosts_do_not_match_lookalikes_and_star_is_ignored() -> None:
    assert referrer_host("https://evilpacte.example/", own_hosts={".pacte.example"}) == "evilpacte.example"
    assert referrer_host("https://pacte.example.evil.org/", own_hosts=OWN) == "pacte.example.evil.org"
    assert referrer_host("https://example.org/", own_hosts={"*"}) == "example.org"


@given(st.text(max_size=500), st.sets(st.text(max_size=30), max_size=5))
def test_referrer_host_never_raises_and_is_bounded(referer: str, own: set[str]) -> None:
    host = referrer_host(referer, own_hosts=own)
    assert len(host) <= MAX_HOST
    assert host == host.lower()
    assert host.isascii()
    assert "/" not in host and "?" not in host and "@" not in host


@given(
    st.from_regex(
        r"https?://[a-z0-9-]{1,20}(\.[a-z0-9-]{1,20}){0,3}(:[0-9]{1,4})?/[ -~]{0,40}", fullmatch=True
    )
)
def test_referrer_host_is_a_suffix_free_host_of_the_url(referer: str) -> None:
    host = referrer_host(referer, own_hosts=())
    if host:
        assert referer.split("://", 1)[1].startswith(host)


@pytest.mark.parametrize(
    ("query", "normalized"),
    [
        ("  Politique   de\tconfidentialité\n", "politique de confidentialité"),
        ("ＲＧＰＤ", "rgpd"),  # full-width letters (NFKC)
        ("Straße", "strasse"),  # case folding, not lower()
        ("ﬁchier", "fichier"),  # ligature (NFKC)
        ("droit\u200bd'accès", "droit d'accès"),  # a zero-width space is a space
        ("facture 2024", "facture 2024"),
        ("code 12345", "code 12345"),
        ("x" * 150, "x" * MAX_QUERY),
        ("a" * 99 + " b", "a" * 99),  # cut, then stripped
    ],
)
def test_normalize_query_folds_for_counting(query: str, normalized: str) -> None:
    assert normalize_query(query) == normalized


@pytest.mark.parametrize(
    "query",
    [
        "",
        "   \t\n ",
        "\u200b\u200b",
        "jean.dupont@example.org",
        "contact jean@dupont",
        "jean @ exemple.fr",
        "jean＠exemple.fr",
        "mon numéro 0612345678",
        "06 12 34 56 78",
        "06.12.34.56.78",
        "4111-1111-1111-1111",
        "né le 12/05/1990",
        "commande 123456",
        "commande １２３４５６",  # full-width digits are digits after NFKC
        "commande ١٢٣٤٥٦",  # Arabic-Indic digits too
        "ticket 123\u200b456",  # a zero-width space does not hide a number
        "x" * 1001,
    ],
)
def test_normalize_query_drops_empty_and_personal_looking_queries(query: str) -> None:
    assert normalize_query(query) == ""


@given(st.text(max_size=1200))
def test_normalize_query_never_raises_is_bounded_and_idempotent(query: str) -> None:
    normalized = normalize_query(query)
    assert len(normalized) <= MAX_QUERY
    assert normalized == normalized.strip()
    assert "  " not in normalized
    assert "@" not in normalized
    assert normalize_query(normalized) == normalized
