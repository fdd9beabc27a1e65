"""My account beyond the details form: e-mail change, sessions, employer details, passwords, MFA."""

from __future__ import annotations

import re
import time

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value, yield_hotp_counters_from_time
from allauth.usersessions.models import UserSession
from django.core.cache import cache
from django.test import Client

from pacte.accounts.adapter import MFAAdapter
from pacte.accounts.models import EmailIdentity, Organisation, User
from pacte.accounts.services import user_create, user_register
from pacte.ledger.models import Entry

DBS = ["default", "keys", "telemetry"]
pytestmark = pytest.mark.django_db(databases=DBS)
PASSWORD = "correct horse battery 42"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


def _reauthenticated(client: Client, response) -> object:
    """Answer allauth's password prompt if the response asks for it; return the final response."""
    if response.status_code == 302 and response["Location"].startswith("/accounts/reauthenticate/"):
        return client.post(response["Location"], {"password": PASSWORD})
    return response


def _sign_in(email: str, password: str = PASSWORD, **client_kwargs: str) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en", **client_kwargs)
    response = client.post("/accounts/login/", {"login": email, "password": password})
    assert response.status_code == 302, response.content.decode()[:2000]
    return client


def _customer(email: str = "dominique@example.fr", **fields) -> User:
    fields.setdefault("name", "Dominique Bernard")
    fields.setdefault("language", "en")  # the tests read the mails in English, like their pages
    return user_create(email=email, password=PASSWORD, birth_date=None, **fields)


def _link(message, path: str) -> str:
    body = message.get_body(preferencelist=("plain",)).get_content()
    match = re.search(r"https?://[^/\s]+(" + re.escape(path) + r"[^\s]+)", body)
    assert match, body
    return match.group(1)


def _visible(response) -> str:
    """The text a person sees on the page (tags and their attributes removed)."""
    return re.sub(r"<[^>]+>", " ", response.content.decode())


def _body(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def test_email_change_verifies_the_new_address_and_tells_the_old_one(smtp_server) -> None:
    user = _customer()
    client = _sign_in("dominique@example.fr")
    page = _visible(client.get("/accounts/email/"))
    assert "dominique@example.fr" in page and "pseudonym.invalid" not in page

    response = client.post("/accounts/email/", {"email": "Dom.New@example.org", "action_add": ""})
    # Changing the address asks for the password again, then carries on with the change.
    assert response["Location"].startswith("/accounts/reauthenticate/")
    assert not smtp_server
    wrong = client.post(response["Location"], {"password": "not it"})
    assert wrong.status_code == 200 and not smtp_server
    assert client.post(response["Location"], {"password": PASSWORD}).status_code == 302
    (verification,) = smtp_server.wait_for(1)
    assert verification.envelope_to == ["dom.new@example.org"]  # allauth lower-cases a new address
    page = _visible(client.get("/accounts/email/"))
    assert "dom.new@example.org" in page and "pseudonym.invalid" not in page
    # Until the new address is confirmed, the old one still signs in.
    _sign_in("dominique@example.fr")

    confirm = client.post(_link(verification, "/accounts/confirm-email/"))
    assert confirm.status_code == 302
    notice = smtp_server.wait_for(2)[1]
    assert notice.envelope_to == ["dominique@example.fr"]
    assert "dominique@example.fr" in _body(notice) and "dom.new@example.org" in _body(notice)
    assert "pseudonym.invalid" not in _body(notice) + _body(verification)

    user.refresh_from_db()
    assert EmailAddress.objects.filter(user=user).count() == 1
    # The old address is forgotten once it has been told of the change.
    assert [str(i.email) for i in EmailIdentity.objects.filter(subject=user.subject)] == [
        "dom.new@example.org"
    ]
    assert Entry.objects.filter(type="rectification", payload__field="accounts.User.email").count() == 1
    _sign_in("dom.new@example.org")
    refused = Client().post("/accounts/login/", {"login": "dominique@example.fr", "password": PASSWORD})
    assert refused.status_code == 200


def test_sessions_are_listed_with_browser_and_network_and_one_can_be_ended() -> None:
    _customer()
    here = _sign_in("dominique@example.fr")
    there = _sign_in("dominique@example.fr", HTTP_USER_AGENT=FIREFOX, REMOTE_ADDR="81.250.1.77")
    assert there.get("/account/").status_code == 200

    page = here.get("/account/").content.decode()
    assert "Firefox 128 on Linux" in page and "Network 81.250.1.0" in page
    assert "This session" in page and "Sign out every other session" in page
    # Only the network is stored, never the full address.
    assert sorted(UserSession.objects.values_list("ip", flat=True)) == ["127.0.0.0", "81.250.1.0"]

    other = UserSession.objects.get(ip="81.250.1.0")
    response = here.post("/account/sessions/end/", {"session": str(other.pk)})
    assert response.status_code == 302
    assert there.get("/account/")["Location"].startswith("/accounts/login/")
    assert here.get("/account/").status_code == 200
    assert UserSession.objects.count() == 1


def test_sign_out_every_other_session() -> None:
    _customer()
    here = _sign_in("dominique@example.fr")
    others = [_sign_in("dominique@example.fr", REMOTE_ADDR=f"198.51.100.{i}") for i in range(3)]
    for client in others:
        client.get("/account/")
    here.post("/account/sessions/end/", {"others": "1"})
    assert all(client.get("/account/").status_code == 302 for client in others)
    assert here.get("/account/").status_code == 200


def test_the_session_list_costs_the_same_queries_however_many_sessions_are_held() -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _customer()
    here = _sign_in("dominique@example.fr")
    here.get("/account/")
    with CaptureQueriesContext(connection) as one:
        assert here.get("/account/").status_code == 200
    for i in range(6):
        _sign_in("dominique@example.fr", REMOTE_ADDR=f"198.51.100.{i}")
    with CaptureQueriesContext(connection) as seven:
        page = here.get("/account/").content.decode()
    assert page.count("198.51.100.0") == 6
    assert len(seven.captured_queries) == len(one.captured_queries)
    # A page view writes nothing.
    assert not [q for q in seven.captured_queries if not q["sql"].lstrip().upper().startswith("SELECT")]


def test_a_sign_in_forgets_ended_sessions_in_one_statement_however_many_are_held() -> None:
    from django.contrib.sessions.models import Session
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _customer()
    _sign_in("dominique@example.fr")
    with CaptureQueriesContext(connection) as first:
        _sign_in("dominique@example.fr", REMOTE_ADDR="198.51.100.1")
    kept = [_sign_in("dominique@example.fr", REMOTE_ADDR=f"198.51.100.{i}") for i in range(2, 7)]
    ended = list(UserSession.objects.order_by("created_at")[:2])  # the two sign-ins before ``kept``
    Session.objects.filter(session_key__in=[s.session_key for s in ended]).delete()  # ended elsewhere
    with CaptureQueriesContext(connection) as later:
        _sign_in("dominique@example.fr", REMOTE_ADDR="198.51.100.9")
    assert len(later.captured_queries) == len(first.captured_queries)  # not one query per session held
    remaining = set(UserSession.objects.values_list("session_key", flat=True))
    assert not remaining & {s.session_key for s in ended}
    assert len(remaining) == 7 + 1 - 2
    assert all(client.get("/account/").status_code == 200 for client in kept)


def test_a_new_password_ends_every_other_session_and_the_list_shows_only_live_ones(smtp_server) -> None:
    _customer()
    here = _sign_in("dominique@example.fr")
    others = [_sign_in("dominique@example.fr", REMOTE_ADDR=f"198.51.100.{i}") for i in range(3)]
    assert UserSession.objects.count() == 4
    changed = here.post(
        "/accounts/password/change/",
        {"oldpassword": PASSWORD, "password1": "a new long passphrase", "password2": "a new long passphrase"},
    )
    assert changed.status_code == 302
    assert UserSession.objects.count() == 1
    assert all(client.get("/account/").status_code == 302 for client in others)
    page = here.get("/account/").content.decode()
    assert "198.51.100.0" not in page and "This session" in page


def test_the_administrator_edits_the_employer_details_and_nobody_else_can() -> None:
    admin = user_register(
        email="gerant@atelier.fr",
        password=PASSWORD,
        name="Claire Gérant",
        birth_date=None,
        kind="employer",
        organisation={"legal_name": "Atelier SARL", "authority": True},
        source="operator",
    )
    EmailAddress.objects.create(user=admin, email=admin.email, verified=True, primary=True)
    org = Organisation.objects.get()
    client = _sign_in("gerant@atelier.fr")
    assert "Atelier SARL" in client.get("/account/").content.decode()
    prefix = f"org-{org.pk}-"
    data = {prefix + "legal_name": "Atelier Gérant SAS", prefix + "registration_number": "552 100 554"}
    data |= {
        prefix + "address_line": "1 quai Perrache",
        prefix + "postcode": "69002",
        prefix + "city": "Lyon",
    }
    assert client.post(f"/account/organisation/{org.pk}/", data).status_code == 302
    org.refresh_from_db()
    assert org.legal_name == "Atelier Gérant SAS" and org.postal_address["city"] == "Lyon"
    fields = sorted(Entry.objects.filter(type="rectification").values_list("payload__field", flat=True))
    assert fields == [
        "accounts.Organisation.legal_name",
        "accounts.Organisation.postal_address",
        "accounts.Organisation.registration_number",
    ]
    # A customer who is not its administrator changes nothing.
    _customer("intrus@example.fr")
    intruder = _sign_in("intrus@example.fr")
    intruder.post(f"/account/organisation/{org.pk}/", {prefix + "legal_name": "Volé SA"})
    org.refresh_from_db()
    assert org.legal_name == "Atelier Gérant SAS"
    empty = client.post(f"/account/organisation/{org.pk}/", {prefix + "legal_name": ""})
    assert empty.status_code == 400 and "This field is required." in empty.content.decode()
    assert Entry.objects.filter(type="rectification").count() == 3


def test_password_change_needs_the_current_password_and_tells_the_customer(smtp_server) -> None:
    user = _customer()
    client = _sign_in("dominique@example.fr")
    wrong = client.post(
        "/accounts/password/change/",
        {"oldpassword": "not it", "password1": "a new long passphrase", "password2": "a new long passphrase"},
    )
    assert "Please type your current password." in wrong.content.decode()
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    ok = client.post(
        "/accounts/password/change/",
        {"oldpassword": PASSWORD, "password1": "a new long passphrase", "password2": "a new long passphrase"},
    )
    assert ok.status_code == 302
    (notice,) = smtp_server.wait_for(1)
    assert notice.envelope_to == ["dominique@example.fr"] and "password" in notice["Subject"].lower()
    _sign_in("dominique@example.fr", "a new long passphrase")


def test_password_reset_by_mail_to_the_real_address(smtp_server) -> None:
    _customer()
    client = Client(HTTP_ACCEPT_LANGUAGE="fr")
    assert client.post("/accounts/password/reset/", {"email": "Dominique@Example.fr"}).status_code == 302
    # An unknown address gets the same answer (no account enumeration).
    assert client.post("/accounts/password/reset/", {"email": "nobody@example.fr"}).status_code == 302
    reset = next(m for m in smtp_server.wait_for(2) if m.envelope_to == ["dominique@example.fr"])
    link = _link(reset, "/accounts/password/reset/key/")
    form_url = client.get(link)["Location"]
    done = client.post(
        form_url, {"password1": "une phrase de passe neuve", "password2": "une phrase de passe neuve"}
    )
    assert done.status_code == 302
    _sign_in("dominique@example.fr", "une phrase de passe neuve")


def _totp_code(secret: str) -> str:
    if time.time() % 30 > 27:  # never use a code in the last seconds of its 30-second period
        time.sleep(30 - time.time() % 30 + 0.5)

    counter = list(yield_hotp_counters_from_time())[-1]
    return format_hotp_value(hotp_value(secret, counter))


@pytest.mark.django_db(databases=DBS, transaction=True)  # allauth announces the authenticator on commit
def test_staff_must_set_up_a_second_factor_and_then_use_it() -> None:
    _customer("agent@operator.example", is_staff=True)
    client = _sign_in("agent@operator.example")
    assert client.get("/account/")["Location"] == "/accounts/2fa/"
    _reauthenticated(client, client.get("/accounts/2fa/totp/activate/"))
    client.get("/accounts/2fa/totp/activate/")
    secret = client.session["mfa.totp.secret"]
    # Typing the new authenticator's code counts as having used a second factor in this session.
    response = client.post("/accounts/2fa/totp/activate/", {"code": _totp_code(secret)})
    assert response.status_code == 302 and response["Location"] != "/accounts/2fa/totp/activate/"
    assert client.get("/account/").status_code == 200
    totp = Authenticator.objects.get(type="totp")
    # The secret is stored encrypted, never as the base32 text the authenticator app shows.
    assert secret not in str(totp.data) and str(totp.data["secret"]).startswith("v1:")  # sealed by the vault
    assert MFAAdapter().decrypt(totp.data["secret"]) == secret

    client.post("/accounts/logout/")
    cache.clear()  # the activation code may not be replayed within its 30 s; a new period would do
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    first = client.post("/accounts/login/", {"login": "agent@operator.example", "password": PASSWORD})
    assert first["Location"] == "/accounts/2fa/authenticate/"
    assert client.get("/account/").status_code == 302  # not signed in yet
    wrong = client.post("/accounts/2fa/authenticate/", {"code": "000000"})
    assert "Incorrect code." in wrong.content.decode()
    assert client.post("/accounts/2fa/authenticate/", {"code": _totp_code(secret)}).status_code == 302
    assert client.get("/account/").status_code == 200


def test_a_customer_may_add_totp_and_sign_in_with_a_recovery_code() -> None:
    _customer()
    client = _sign_in("dominique@example.fr")
    assert client.get("/account/").status_code == 200  # optional for customers
    _reauthenticated(client, client.get("/accounts/2fa/totp/activate/"))
    client.get("/accounts/2fa/totp/activate/")
    secret = client.session["mfa.totp.secret"]
    client.post("/accounts/2fa/totp/activate/", {"code": _totp_code(secret)})

    codes = RecoveryCodes(Authenticator.objects.get(type="recovery_codes")).get_unused_codes()
    assert len(codes) == 10
    again = Client(HTTP_ACCEPT_LANGUAGE="en")
    again.post("/accounts/login/", {"login": "dominique@example.fr", "password": PASSWORD})
    assert again.post("/accounts/2fa/authenticate/", {"code": codes[0]}).status_code == 302
    assert again.get("/account/").status_code == 200
    assert codes[0] not in RecoveryCodes(Authenticator.objects.get(type="recovery_codes")).get_unused_codes()
