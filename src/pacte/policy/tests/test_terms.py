"""Terms of use: part of the policy file, served at /terms/ in both languages, versioned, linked, proved."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.test import Client

from pacte.ledger.models import Entry
from pacte.policy.loader import PolicyFileError, load_policy_file, parse_policy
from pacte.policy.models import PolicyVersion
from pacte.policy.services import reset_caches

REPO = Path(__file__).resolve().parents[4]
DBS = ["default", "keys", "telemetry"]
pytestmark = pytest.mark.django_db(databases=DBS)

# The clauses each seed says about the account, the account holder and the service, in both languages.
KEY_CLAUSES = {
    ("plusuite.toml", "en"): [
        "PluSuite.com terms of use",
        "Once your sign-up for the Service is complete, Upturn will create a PayPal Express Checkout "
        "account on your behalf, using your email address.",
        "If you sign up for the Service on behalf of your employer, your employer will be the Account Holder.",
        "it is up to you to deactivate them",
    ],
    ("plusuite.toml", "fr"): [
        "Conditions d’utilisation de PluSuite.com",
        "Une fois votre inscription au Service terminée, Upturn créera un compte PayPal Express Checkout "
        "en votre nom, en utilisant votre adresse e-mail.",
        "Si vous vous inscrivez au Service au nom de votre employeur, votre employeur sera le titulaire du compte.",
        "il vous appartient de les désactiver",
    ],
    ("aplusc.toml", "en"): [
        "A PLUS C General Terms of Use",
        "You must register to access our online Services and use our apps.",
        "remain your full and whole property. They will neither be sold nor rented to external third parties.",
        "a trusted third party who manages the transactions in our Services",
    ],
    ("aplusc.toml", "fr"): [
        "Conditions générales d’utilisation d’A PLUS C",
        "Vous devez vous inscrire pour accéder à nos Services en ligne et utiliser nos applications.",
        "restent votre pleine et entière propriété. Elles ne seront ni vendues ni louées à des tiers.",
        "un tiers de confiance qui gère les transactions de nos Services",
    ],
}


@pytest.fixture(autouse=True)
def _fresh_caches() -> Iterator[None]:
    # Recorded versions are remembered per process; each test starts from an empty database.
    reset_caches()
    yield
    reset_caches()


def _use(settings, tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    shutil.copy(REPO / "policies" / name, path)
    settings.PACTE_POLICY_FILE = str(path)
    return path


def _html(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


@pytest.mark.parametrize(("name", "lang"), sorted(KEY_CLAUSES))
def test_terms_are_served_in_the_visitors_language(settings, tmp_path, name: str, lang: str) -> None:
    _use(settings, tmp_path, name)
    html = _html(Client().get("/terms/", HTTP_ACCEPT_LANGUAGE=lang))
    assert f'<html lang="{lang}">' in html
    for clause in KEY_CLAUSES[(name, lang)]:
        assert clause in html, clause
    other = "fr" if lang == "en" else "en"
    assert KEY_CLAUSES[(name, other)][1] not in html  # one language at a time
    terms = load_policy_file(REPO / "policies" / name).policy.terms
    assert terms is not None
    assert f"<code>{terms.sha256()}</code>" in html
    assert ("Version 1, in force since" if lang == "en" else "Version 1, en vigueur depuis") in html
    for number, section in enumerate(terms.sections, start=1):
        assert f'<section id="terms-{number}"><h2>{section.title.get(lang)}</h2>' in html


def test_the_language_switch_changes_the_terms_language() -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert "Upturn will create a PayPal Express Checkout account" in _html(client.get("/terms/"))
    client.post("/i18n/setlang/", {"language": "fr", "next": "/terms/"})
    assert "Upturn créera un compte PayPal Express Checkout" in _html(client.get("/terms/"))


def test_every_page_links_to_the_terms_in_its_footer() -> None:
    en = _html(Client().get("/privacy/", HTTP_ACCEPT_LANGUAGE="en"))
    footer = en[en.index('<footer class="site-footer">') :]
    assert '<a href="/terms/">Terms of use</a>' in footer
    fr = _html(Client().get("/terms/", HTTP_ACCEPT_LANGUAGE="fr"))
    footer = fr[fr.index('<footer class="site-footer">') :]
    assert '<a href="/terms/">Conditions d’utilisation</a>' in footer
    assert '<a href="/privacy/">Politique de confidentialité</a>' in footer


@pytest.mark.parametrize(
    ("lang", "label"),
    [
        (
            "en",
            'I accept the <a href="/terms/">terms of use</a> and have read the '
            '<a href="/privacy/">privacy notice</a></label>',
        ),
        (
            "fr",
            'J’accepte les <a href="/terms/">conditions d’utilisation</a> et j’ai lu la '
            '<a href="/privacy/">politique de confidentialité</a></label>',
        ),
    ],
)
def test_the_signup_checkbox_links_to_the_terms_and_the_notice(lang: str, label: str) -> None:
    html = _html(Client().get("/accounts/signup/", HTTP_ACCEPT_LANGUAGE=lang))
    assert '<label for="id_terms">' + label in html
    assert 'name="terms"' in html


def test_a_policy_publishing_its_terms_elsewhere_redirects_there(settings, tmp_path) -> None:
    path = _use(settings, tmp_path, "aplusc.toml")
    text = path.read_text()
    text = text[: text.index("# --- General Terms of Use")]
    path.write_text(text.replace('terms_url = "/terms/"', 'terms_url = "https://www.aplusc.fr/cgu"'))
    response = Client().get("/terms/")
    assert response.status_code == 302 and response["Location"] == "https://www.aplusc.fr/cgu"
    html = _html(Client().get("/privacy/", HTTP_ACCEPT_LANGUAGE="en"))
    assert '<a href="https://www.aplusc.fr/cgu">Terms of use</a>' in html


def _signup(client: Client, email: str) -> None:
    response = client.post(
        "/accounts/signup/",
        {
            "email": email,
            "password1": "correct horse battery 42",
            "account_kind": "individual",
            "name": "Camille Martin",
            "birth_date": "1990-04-12",
            "phone": "06 12 34 56 78",
            "address_line": "12 rue de la République",
            "postcode": "69002",
            "city": "Lyon",
            "country": "FR",
            "terms": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]


def _terms_payload(email_number: int) -> dict:
    entries = list(Entry.objects.filter(type="terms.accepted").order_by("seq"))
    return entries[email_number].payload


def test_accepting_the_terms_records_their_version_and_fingerprint(settings, tmp_path, smtp_server) -> None:
    path = _use(settings, tmp_path, "plusuite.toml")
    terms_v1 = load_policy_file(path).policy.terms
    assert terms_v1 is not None
    _signup(Client(HTTP_ACCEPT_LANGUAGE="en"), "one@example.fr")
    v1 = PolicyVersion.objects.get(number=1)
    assert _terms_payload(0) == {
        "terms_url": "/terms/",
        "terms_version": 1,
        "terms_sha256": terms_v1.sha256(),
        "policy_version": 1,
        "policy_sha256": v1.sha256,
    }

    # An edit elsewhere in the file is a new policy version, but the same terms: their version stays.
    path.write_text(path.read_text().replace("change_notice_days = 30", "change_notice_days = 31"))
    _signup(Client(HTTP_ACCEPT_LANGUAGE="en"), "two@example.fr")
    second = _terms_payload(1)
    assert (second["policy_version"], second["terms_version"]) == (2, 1)
    assert second["terms_sha256"] == terms_v1.sha256()

    # A change of the terms' text is a new terms version, numbered after the policy version.
    path.write_text(path.read_text().replace("Upturn will create", "Upturn shall create"))
    _signup(Client(HTTP_ACCEPT_LANGUAGE="en"), "three@example.fr")
    third = _terms_payload(2)
    assert (third["policy_version"], third["terms_version"]) == (3, 3)
    assert third["terms_sha256"] != terms_v1.sha256()

    # The archive lists the two texts; each is shown as it was.
    archive = _html(Client().get("/terms/versions/", HTTP_ACCEPT_LANGUAGE="en"))
    assert terms_v1.sha256() in archive and third["terms_sha256"] in archive
    assert archive.count('href="/terms/versions/') == 2
    old = _html(Client().get("/terms/versions/1/", HTTP_ACCEPT_LANGUAGE="en"))
    assert "Upturn will create" in old and "This is an earlier version" in old
    same = _html(Client().get("/terms/versions/2/", HTTP_ACCEPT_LANGUAGE="en"))
    assert "Upturn will create" in same and "Version 1, in force since" in same
    current = _html(Client().get("/terms/", HTTP_ACCEPT_LANGUAGE="en"))
    assert "Upturn shall create" in current and "Version 3, in force since" in current
    assert Client().get("/terms/versions/99/").status_code == 404


def test_an_invalid_terms_table_names_its_line_key_and_fix() -> None:
    text = (REPO / "policies" / "aplusc.toml").read_text()
    # The second paragraph of the third section loses its English.
    lines = text.splitlines()
    first = lines.index('title = { en = "Your data remain yours", fr = "Vos données restent les vôtres" }')
    target = first + 3  # title, "paragraphs = [", first paragraph, second paragraph
    assert lines[target].startswith('  { en = "Your personal data are never shared')
    lines[target] = "  { fr = " + lines[target].split(", fr = ", 1)[1]
    with pytest.raises(PolicyFileError) as raised:
        parse_policy("\n".join(lines), file="x.toml")
    assert raised.value.lines() == [
        f"x.toml:{target + 1}: terms.sections.1.paragraphs.1.en: is required — add en = … (see docs/policy-file.md)"
    ]


def test_an_unknown_key_in_a_section_names_that_sections_line_and_the_allowed_keys() -> None:
    text = (REPO / "policies" / "plusuite.toml").read_text()
    header = '[[terms.sections]]\ntitle = { fr = "Sécurité", en = "Security" }\n'
    assert header in text
    bad = text.replace(header, header + 'body = "…"\n')
    expected_line = bad.splitlines().index('body = "…"') + 1
    with pytest.raises(PolicyFileError) as raised:
        parse_policy(bad, file="x.toml")
    assert raised.value.lines() == [
        f"x.toml:{expected_line}: terms.sections.5.body: unknown key 'body' — "
        "remove it or use one of the allowed keys: paragraphs, title"
    ]


def test_terms_declared_while_terms_url_points_elsewhere_are_refused() -> None:
    text = (REPO / "policies" / "aplusc.toml").read_text()
    bad = text.replace('terms_url = "/terms/"', 'terms_url = "https://example.org/cgu"')
    line = bad.splitlines().index(next(x for x in bad.splitlines() if x.startswith("terms_url"))) + 1
    with pytest.raises(PolicyFileError) as raised:
        parse_policy(bad, file="x.toml")
    assert raised.value.lines() == [
        f"x.toml:{line}: operator.terms_url: the file declares [terms] but terms_url sends people to "
        "'https://example.org/cgu' — remove terms_url (it defaults to \"/terms/\", where [terms] is served) "
        "or remove [terms]"
    ]


def test_terms_url_defaults_to_the_terms_page() -> None:
    text = (REPO / "policies" / "plusuite.toml").read_text()
    without = "\n".join(x for x in text.splitlines() if not x.startswith("terms_url"))
    assert parse_policy(without).operator.terms_url == "/terms/"
