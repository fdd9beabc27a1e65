"""Each widget of the policy loads its own embed, with its own parameters, only after consent."""

from __future__ import annotations

import html
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from pacte.policy.loader import PolicyFileError, parse_policy

DBS = ["default", "keys", "telemetry"]
pytestmark = pytest.mark.django_db(databases=DBS)
KEY = "abcdef0123456789abcdef0123456789"


def _widget(page: str, widget_id: str) -> str:
    return page.split(f'data-widget="{widget_id}"')[1].split("</div>")[0]


def _src(fragment: str) -> str:
    return html.unescape(fragment.split('src="')[1].split('"')[0])


@pytest.fixture
def policy_with_parameters(settings, tmp_path) -> Path:
    """The active policy with its widgets' parameters changed: what renders must follow them."""
    text = Path(settings.PACTE_POLICY_FILE).read_text()
    text = text.replace('public_key = "plusuite0public0key0to0replace00"', f'public_key = "{KEY}"')
    text = text.replace(
        '# href = "https://www.plusuite.com/"', 'href = "https://www.plusuite.com/boutique/"\n#'
    )
    like = text.index("[widgets.facebook_like]")
    text = text[:like] + text[like:].replace('layout = "button_count"', 'layout = "box_count"', 1)
    path = tmp_path / "policy.toml"
    path.write_text(text)
    settings.PACTE_POLICY_FILE = str(path)
    return path


def test_each_widget_loads_its_own_embed_with_its_own_parameters_after_consent(
    policy_with_parameters,
) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="fr")
    before = client.get("/")
    page = before.content.decode()
    # Before consent: three placeholders naming the host and what it would receive, nothing loaded.
    for widget_id in ("facebook_like", "facebook_share", "tidio_chat"):
        assert 'class="widget-placeholder"' in _widget(page, widget_id)
    assert "plugins/" not in page and f"{KEY}.js" not in page
    assert "Non chargé : il vient de code.tidio.co (Tidio), qui recevrait" in _widget(page, "tidio_chat")
    assert "Messages envoyés au service client" in _widget(page, "tidio_chat")
    assert "www.facebook.com (Meta Platforms Ireland (Facebook))" in _widget(page, "facebook_share")
    assert (
        "facebook" not in before["Content-Security-Policy"]
        and "tidio" not in before["Content-Security-Policy"]
    )

    client.post("/cookies/", {"action": "accept", "next": "/"})
    after = client.get("/")
    page = after.content.decode()

    like = urlsplit(_src(_widget(page, "facebook_like")))
    assert (like.netloc, like.path) == ("www.facebook.com", "/plugins/like.php")
    assert parse_qs(like.query) == {
        "href": ["http://testserver/"],  # no href in the policy: the page it is on
        "layout": ["box_count"],
        "action": ["like"],
        "size": ["small"],
        "share": ["false"],
        "locale": ["fr_FR"],
    }
    share_html = _widget(page, "facebook_share")
    share = urlsplit(_src(share_html))
    assert (share.netloc, share.path) == ("www.facebook.com", "/plugins/share_button.php")
    assert parse_qs(share.query) == {
        "href": ["https://www.plusuite.com/boutique/"],
        "layout": ["button_count"],
        "size": ["small"],
        "locale": ["fr_FR"],
    }
    assert "like.php" not in share_html  # the share button is no second Like button
    tidio = _widget(page, "tidio_chat")
    assert "<script " in tidio and _src(tidio) == f"https://code.tidio.co/{KEY}.js"
    csp = dict(part.split(" ", 1) for part in after["Content-Security-Policy"].split("; "))
    assert csp["frame-src"] == "'self' https://www.facebook.com"
    assert csp["script-src"] == "'self' https://code.tidio.co"


def test_the_share_button_of_the_real_policy_is_facebooks_share_plugin() -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.post("/cookies/", {"action": "grant", "purpose": "social_widgets", "next": "/"})
    page = client.get("/").content.decode()
    assert "/plugins/share_button.php?" in _src(_widget(page, "facebook_share"))
    assert "/plugins/like.php?" in _src(_widget(page, "facebook_like"))
    assert 'class="widget-placeholder"' in _widget(page, "tidio_chat")  # another purpose: not agreed


@pytest.mark.parametrize(
    ("widget", "old", "new", "expected"),
    [
        (
            "tidio_chat",
            'public_key = "plusuite0public0key0to0replace00"',
            "",
            "widgets.tidio_chat: a tidio_chat widget needs the public key of your Tidio account (without it "
            'the chat cannot load) — add public_key = "…", found in Tidio\'s panel under Settings › Developer',
        ),
        (
            "facebook_share",
            'layout = "button_count"',
            'layout = "standard"',
            "widgets.facebook_share: 'standard' is not a layout of facebook_share — use one of button_count, "
            "button, box_count, icon_link",
        ),
    ],
)
def test_a_widget_without_its_own_parameters_is_a_clear_policy_error(
    settings, widget, old, new, expected
) -> None:
    text = Path(settings.PACTE_POLICY_FILE).read_text()
    at = text.index(f"[widgets.{widget}]")
    assert old in text[at:]
    bad = text[:at] + text[at:].replace(old, new, 1)
    with pytest.raises(PolicyFileError) as raised:
        parse_policy(bad, file="policy.toml")
    line = bad.splitlines().index(f"[widgets.{widget}]") + 1
    assert raised.value.lines() == [f"policy.toml:{line}: {expected}"]
