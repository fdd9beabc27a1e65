"""Recipients declare the hosts Pacte may reach for them; the notice and the Art. 30 register show them."""

from __future__ import annotations

from pathlib import Path

import pytest

from pacte.policy.loader import PolicyFileError, load_policy_file, parse_policy
from pacte.policy.render import notice_html, notice_markdown, register_rows

REPO = Path(__file__).resolve().parents[4]
PLUSUITE = (REPO / "policies" / "plusuite.toml").read_text()
STRIPE_HOSTS = 'hosts = ["api.stripe.com"]'


def test_the_shipped_policies_declare_their_processors_hosts() -> None:
    plusuite = load_policy_file(REPO / "policies" / "plusuite.toml").policy
    assert plusuite.recipients["stripe"].hosts == ["api.stripe.com"]
    assert plusuite.recipients["paypal"].hosts == [
        "api-m.paypal.com",
        "api-m.sandbox.paypal.com",
        "api.paypal.com",
        "api.sandbox.paypal.com",
    ]
    assert plusuite.recipients["tidio"].hosts == ["api.tidio.com"]
    # Who is reached only in the browser (Facebook's widgets), or by letter (authorities): no host.
    assert plusuite.recipients["facebook"].hosts == [] and plusuite.recipients["authorities"].hosts == []
    aplusc = load_policy_file(REPO / "policies" / "aplusc.toml").policy
    assert all(recipient.hosts == [] for recipient in aplusc.recipients.values())


@pytest.mark.parametrize(
    ("pattern", "host", "allowed"),
    [
        ("api.stripe.com", "api.stripe.com", True),
        ("api.stripe.com", "API.Stripe.com.", True),
        ("api.stripe.com", "stripe.com", False),
        ("api.stripe.com", "api.stripe.com.evil.example", False),
        ("api.stripe.com", "evilapi.stripe.com", False),
        ("*.example.com", "hooks.example.com", True),
        ("*.example.com", "a.b.example.com", True),
        ("*.example.com", "example.com", False),
        ("*.example.com", "badexample.com", False),
        ("127.0.0.1", "127.0.0.1", True),
    ],
)
def test_a_host_is_allowed_only_if_declared(pattern: str, host: str, allowed: bool) -> None:
    policy = parse_policy(PLUSUITE.replace(STRIPE_HOSTS, f'hosts = ["{pattern}"]'))
    assert policy.recipients["stripe"].allows_host(host) is allowed


@pytest.mark.parametrize(
    ("hosts", "what"),
    [
        ('["https://api.stripe.com"]', "'https://api.stripe.com' is not a host name"),
        ('["api.stripe.com:443"]', "'api.stripe.com:443' is not a host name"),
        ('["API.stripe.com"]', "'API.stripe.com' is not a host name"),
        ('["*.com"]', "'*.com' covers a whole top-level domain"),
        ('["a.example.com", "a.example.com"]', "a host is listed twice"),
    ],
)
def test_a_malformed_host_is_refused_with_its_line_and_a_fix(hosts: str, what: str) -> None:
    text = PLUSUITE.replace(STRIPE_HOSTS, f"hosts = {hosts}")
    line = text.splitlines().index(f"hosts = {hosts}") + 1
    with pytest.raises(PolicyFileError) as refused:
        parse_policy(text, file="p.toml")
    [problem] = refused.value.problems
    assert (problem.line, problem.key) == (line, "recipients.stripe.hosts")
    assert problem.what.startswith(what) and problem.fix


def test_the_notice_and_the_register_show_each_recipients_hosts() -> None:
    policy = load_policy_file(REPO / "policies" / "plusuite.toml").policy
    html = notice_html(policy, "en")
    assert (
        "Reached only at: api-m.paypal.com, api-m.sandbox.paypal.com, api.paypal.com, api.sandbox.paypal.com"
        in html
    )
    assert "Contacté uniquement à : api.stripe.com" in notice_html(policy, "fr")
    assert "Reached only at: api.tidio.com." in notice_markdown(policy, "en")
    [payment] = [row for row in register_rows(policy) if row["purpose_id"] == "payment"]
    assert "Stripe Payments (processor, IE; hosts: api.stripe.com)" in payment["recipients"]
    assert "Sociétés de traitement de cartes de crédit (processor, FR)" in payment["recipients"]
