"""User agents: browser, major version, OS, device class, bots apart; garbage never raises."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pacte.telemetry import useragent
from pacte.telemetry.useragent import (
    DEVICE_CLASSES,
    MAX_FAMILY,
    MAX_LENGTH,
    MAX_MAJOR,
    UNKNOWN,
    Agent,
    classify,
)

CHROME_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"


@pytest.mark.parametrize(
    ("ua", "expected"),
    [
        (CHROME_WINDOWS, Agent("Chrome", "124", "Windows", "desktop", False)),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
            "Version/17.4 Safari/605.1.15",
            Agent("Safari", "17", "Mac OS X", "desktop", False),
        ),
        (
            "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
            Agent("Firefox", "125", "Linux", "desktop", False),
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
            "Version/17.4 Mobile/15E148 Safari/604.1",
            Agent("Mobile Safari", "17", "iOS", "mobile", False),
        ),
        (
            "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/124.0.0.0 Mobile Safari/537.36",
            Agent("Chrome Mobile", "124", "Android", "mobile", False),
        ),
        (
            "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
            "Version/17.4 Mobile/15E148 Safari/604.1",
            Agent("Mobile Safari", "17", "iOS", "tablet", False),
        ),
        (
            # An Android device without "Mobile" is a tablet.
            "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
            Agent("Chrome", "120", "Android", "tablet", False),
        ),
        (
            "Mozilla/5.0 (Android 14; Tablet; rv:125.0) Gecko/125.0 Firefox/125.0",
            Agent("Firefox Mobile", "125", "Android", "tablet", False),
        ),
        (
            "Mozilla/5.0 (Windows NT 6.1; WOW64; Trident/7.0; SLCC2; Tablet PC 2.0; rv:11.0) like Gecko",
            Agent("IE", "11", "Windows", "desktop", False),
        ),
        (
            # "bot" inside a phone's name is no bot.
            "Mozilla/5.0 (Linux; Android 10; CUBOT_X30) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/120.0 Mobile Safari/537.36",
            Agent("Chrome", "120", "Android", "mobile", False),
        ),
        (
            "Mozilla/5.0 (SMART-TV; Linux; Tizen 6.0) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/4.0 "
            "Chrome/76.0 TV Safari/537.36",
            Agent("Samsung Internet", "4", "Tizen", "other", False),
        ),
    ],
)
def test_browsers_are_classified(ua: str, expected: Agent) -> None:
    assert classify(ua) == expected


@pytest.mark.parametrize(
    ("ua", "browser"),
    [
        ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "Googlebot"),
        (
            "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/120.0.6099.71 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            "Googlebot",
        ),
        ("Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", "bingbot"),
        ("Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)", "AhrefsBot"),
        ("curl/8.5.0", "curl"),
        ("Wget/1.21.4", "Wget"),
        ("python-requests/2.31.0", "Python Requests"),
        (
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 "
            "Safari/537.36",
            "HeadlessChrome",
        ),
        ("MyCompanyCrawler 0.1", "MyCompanyCrawler"),
        ("some-monitoring-bot", "some-monitoring-bot"),
    ],
)
def test_bots_are_told_apart(ua: str, browser: str) -> None:
    agent = classify(ua)
    assert agent.is_bot is True
    assert agent.device == "bot"
    assert agent.browser == browser


@pytest.mark.parametrize(
    "ua", ["", "   ", "-", "asdf", "x" * 100_000, "☃ Ünïcödé ☃", "\ud800\udfff", "\x00\x01"]
)
def test_garbage_is_other_and_not_a_bot(ua: str) -> None:
    assert classify(ua) == UNKNOWN == Agent("Other", "", "Other", "other", False)


def test_input_is_cut_before_parsing_so_the_cache_stays_bounded() -> None:
    padded = CHROME_WINDOWS + " " + "z" * 10_000
    assert classify(padded) == classify(CHROME_WINDOWS)
    useragent._classify.cache_clear()
    classify(CHROME_WINDOWS + "a" * 1000)
    classify(CHROME_WINDOWS + "a" * 2000)
    info = useragent.cache_info()
    assert (info.hits, info.misses) == (1, 1)  # both are the same first 512 characters
    assert info.maxsize == 4096


def test_a_repeated_agent_is_answered_from_the_cache() -> None:
    useragent._classify.cache_clear()
    first = classify(CHROME_WINDOWS)
    assert classify(CHROME_WINDOWS) is first
    assert useragent.cache_info().hits == 1


@given(st.text(max_size=2 * MAX_LENGTH))
def test_any_text_gives_a_bounded_agent_and_never_raises(ua: str) -> None:
    agent = classify(ua)
    assert agent.device in DEVICE_CLASSES
    assert agent.is_bot == (agent.device == "bot")
    assert 0 < len(agent.browser) <= MAX_FAMILY
    assert 0 < len(agent.os) <= MAX_FAMILY
    assert len(agent.browser_major) <= MAX_MAJOR


@given(st.text(alphabet=st.characters(codec="latin-1"), max_size=200).map(lambda tail: "Mozilla/5.0 " + tail))
def test_browser_like_strings_never_raise(ua: str) -> None:
    assert classify(ua).device in DEVICE_CLASSES
