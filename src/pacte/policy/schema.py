"""The policy file's schema: what an operator may declare, and nothing else.

Every model is frozen and forbids unknown keys. There is deliberately no recipient kind for selling or
renting data: the schema cannot express it. Cross-references between sections are checked by
``policy.rules`` after this structural validation.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from stdnum.eu import vat as eu_vat
from stdnum.fr import siren as fr_siren

ID_PATTERN = r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$"
Identifier = Annotated[str, Field(pattern=ID_PATTERN, max_length=64)]
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
# A host name in lower case (or an IPv4 literal), optionally ``*.`` for any name under it.
_HOST = re.compile(rf"^(\*\.)?{_LABEL}(\.{_LABEL})*$")

LegalBasis = Literal[
    "contract", "consent", "legal_obligation", "legitimate_interest", "vital_interest", "public_task"
]
RecipientKind = Literal["processor", "partner", "authority"]
CookieCategory = Literal["strictly_necessary", "preferences", "analytics", "marketing", "widget"]
RetentionAnchor = Literal[
    "collection",
    "account_closed",
    "last_contact",
    "withdrawal",
    "end_of_contract",
    "invoice_date",
    "session_end",
]
WidgetKind = Literal["social", "chat", "video", "map"]
Language = Literal["fr", "en"]

_DURATION = re.compile(
    r"^P(?!$)(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$"
)


class Duration(BaseModel):
    """An ISO 8601 duration (``P3Y``, ``P13M``, ``P6M``, ``PT30M``), kept as written."""

    model_config = ConfigDict(frozen=True)
    text: str
    years: int = 0
    months: int = 0
    weeks: int = 0
    days: int = 0
    hours: int = 0
    minutes: int = 0
    seconds: int = 0

    @classmethod
    def parse(cls, text: str) -> Duration:
        match = _DURATION.match(text) if isinstance(text, str) else None
        if not match or text.endswith("T"):
            raise ValueError(f"{text!r} is not an ISO 8601 duration — write it like P3Y, P13M, P30D or PT1H")
        parts = [int(group or 0) for group in match.groups()]
        return cls(
            text=text,
            years=parts[0],
            months=parts[1],
            weeks=parts[2],
            days=parts[3],
            hours=parts[4],
            minutes=parts[5],
            seconds=parts[6],
        )

    @property
    def in_months(self) -> float:
        """Return the length in months (a month counted as 30.44 days)."""
        days = self.weeks * 7 + self.days + (self.hours * 3600 + self.minutes * 60 + self.seconds) / 86400
        return self.years * 12 + self.months + days / 30.44

    @property
    def in_days(self) -> float:
        return self.in_months * 30.44

    def __str__(self) -> str:
        return self.text


def _duration(value: object) -> Duration:
    if isinstance(value, Duration):
        return value
    if not isinstance(value, str):
        raise ValueError('a duration is a string such as "P3Y" — quote it')
    return Duration.parse(value)


class Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Text(Strict):
    """A text shown to people, in French and in English."""

    fr: Annotated[str, Field(min_length=1)]
    en: Annotated[str, Field(min_length=1)]

    def get(self, lang: str) -> str:
        return self.en if lang == "en" else self.fr


class Operator(Strict):
    name: Annotated[str, Field(min_length=1)]
    legal_name: Annotated[str, Field(min_length=1)]
    website: Annotated[str, Field(pattern=r"^https?://")]
    postal_address: Annotated[list[str], Field(min_length=2)]
    privacy_contact: Annotated[str, Field(min_length=3)]
    security_contact: Annotated[str, Field(min_length=3)]
    supervisory_authority: Annotated[str, Field(min_length=2)] = "CNIL"
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] = "FR"
    minimum_age: Annotated[int, Field(ge=13, le=21)]
    change_notice_days: Annotated[int, Field(ge=0, le=365)]
    # Where the terms of use accepted at registration are published: "/terms/" (the default) serves the
    # [terms] table of this file; another address means the operator publishes them elsewhere.
    terms_url: Annotated[str, Field(min_length=1)] = "/terms/"
    cookie_choice_months: Annotated[int, Field(ge=1, le=13)] = 6
    description: Text | None = None
    # What invoices must show of the seller (CGI art. 242 nonies A; Code de commerce R123-237): the SIREN
    # and the intra-EU VAT number, checked with python-stdnum; the legal form and share capital as written.
    siren: str | None = None
    vat_number: str | None = None
    legal_form: Annotated[str, Field(min_length=1, max_length=80)] | None = None
    share_capital: Annotated[str, Field(min_length=1, max_length=40)] | None = None

    @field_validator("siren")
    @classmethod
    def check_siren(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not fr_siren.is_valid(value):
            raise ValueError(
                f"{value!r} is not a valid SIREN (9 digits, Luhn check digit) — copy it from the Kbis"
            )
        return str(fr_siren.compact(value))

    @field_validator("vat_number")
    @classmethod
    def check_vat_number(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not eu_vat.is_valid(value):
            raise ValueError(
                f"{value!r} is not a valid EU VAT number — write it as FR + 11 characters, e.g. FR40303265045"
            )
        return str(eu_vat.compact(value))


class Category(Strict):
    label: Text
    description: Text | None = None
    sensitive: bool = False


class RetentionClass(Strict):
    label: Text
    anchor: RetentionAnchor
    duration: Duration
    legal_hold: bool = False

    @field_validator("duration", mode="before")
    @classmethod
    def check_duration(cls, value: object) -> Duration:
        return _duration(value)


class Purpose(Strict):
    label: Text
    description: Text
    legal_basis: LegalBasis
    categories: Annotated[list[Identifier], Field(min_length=1)]
    retention: Identifier
    consent_required: bool = False
    subjects: Text | None = None


class Recipient(Strict):
    kind: RecipientKind
    name: Annotated[str, Field(min_length=1)]
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")]
    purposes: Annotated[list[Identifier], Field(min_length=1)]
    categories: Annotated[list[Identifier], Field(min_length=1)]
    consent_required: bool = False
    description: Text
    safeguards: Text | None = None
    # The hosts Pacte may reach for this recipient (``pacte.sharing.http`` refuses any other): exact
    # names, or ``*.example.com`` for any name under example.com (not example.com itself).
    hosts: list[str] = []

    @field_validator("hosts")
    @classmethod
    def check_hosts(cls, hosts: list[str]) -> list[str]:
        for host in hosts:
            if len(host) > 253 or not _HOST.match(host):
                raise ValueError(
                    f"{host!r} is not a host name — write it in lower case without scheme, port or path, "
                    'e.g. "api.stripe.com", or "*.example.com" for any name under example.com'
                )
            if host.startswith("*.") and host.count(".") < 2:
                raise ValueError(f"{host!r} covers a whole top-level domain — name the site: *.example.com")
        if len(set(hosts)) != len(hosts):
            raise ValueError("a host is listed twice — keep each once")
        return hosts

    def allows_host(self, host: str) -> bool:
        """Tell whether ``host`` (a name or an IP literal, any case) is one this recipient declares."""
        host = host.lower().rstrip(".")
        return any(
            host.endswith(pattern[1:]) and host != pattern[2:]
            if pattern.startswith("*.")
            else host == pattern
            for pattern in self.hosts
        )


class Cookie(Strict):
    category: CookieCategory
    lifetime: Duration
    purpose: Identifier
    description: Text
    host: str | None = None

    @field_validator("lifetime", mode="before")
    @classmethod
    def check_lifetime(cls, value: object) -> Duration:
        return _duration(value)


WidgetEmbed = Literal["facebook_like", "facebook_share", "tidio_chat"]
# Each embed's kind and the one host it loads from (the placeholder names it; the page's CSP opens to it).
WIDGET_EMBEDS: dict[str, tuple[str, str]] = {
    "facebook_like": ("social", "www.facebook.com"),
    "facebook_share": ("social", "www.facebook.com"),
    "tidio_chat": ("chat", "code.tidio.co"),
}
# The layouts each Facebook plugin accepts (its "layout" parameter).
FACEBOOK_LAYOUTS: dict[str, tuple[str, ...]] = {
    "facebook_like": ("standard", "button_count", "button", "box_count"),
    "facebook_share": ("button_count", "button", "box_count", "icon_link"),
}


class Widget(Strict):
    kind: WidgetKind
    recipient: Identifier
    host: Annotated[str, Field(pattern=r"^[a-z0-9.-]+$")]
    purpose: Identifier
    label: Text
    # How it is embedded once agreed to, and that embed's own parameters.
    embed: WidgetEmbed
    public_key: Annotated[str, Field(pattern=r"^[a-z0-9]{16,64}$")] | None = None  # tidio_chat
    # facebook_*: the address liked or shared (default: the page the button is on), and the layout.
    href: Annotated[str, Field(pattern=r"^https://[^\s\"<>]+$")] | None = None
    layout: str | None = None

    @model_validator(mode="after")
    def check_embed(self) -> Widget:
        kind, host = WIDGET_EMBEDS[self.embed]
        if self.kind != kind:
            raise ValueError(
                f"a {self.embed} widget is of kind '{kind}', not '{self.kind}' — write kind = \"{kind}\""
            )
        if self.host != host:
            raise ValueError(
                f'a {self.embed} widget loads from {host}, not {self.host} — write host = "{host}"'
            )
        if self.embed == "tidio_chat":
            if self.public_key is None:
                raise ValueError(
                    "a tidio_chat widget needs the public key of your Tidio account (without it the chat "
                    'cannot load) — add public_key = "…", found in Tidio\'s panel under Settings › Developer'
                )
            if self.href is not None or self.layout is not None:
                raise ValueError(
                    "href and layout are Facebook parameters — remove them from a tidio_chat widget"
                )
        else:
            if self.public_key is not None:
                raise ValueError(f"public_key is a Tidio parameter — remove it from a {self.embed} widget")
            layouts = FACEBOOK_LAYOUTS[self.embed]
            if self.layout is not None and self.layout not in layouts:
                raise ValueError(
                    f"{self.layout!r} is not a layout of {self.embed} — use one of {', '.join(layouts)}"
                )
        return self


class TermsSection(Strict):
    """One section of the terms of use: a title and its paragraphs, each in French and English."""

    title: Text
    paragraphs: Annotated[list[Text], Field(min_length=1)]


class Terms(Strict):
    """The terms of use a customer accepts at registration, served at ``/terms/``."""

    title: Text
    introduction: Text | None = None
    sections: Annotated[list[TermsSection], Field(min_length=1)]

    def sha256(self) -> str:
        """Return the fingerprint of the terms' text, both languages (unchanged by edits elsewhere)."""
        canonical = json.dumps(
            self.model_dump(mode="json"), sort_keys=True, ensure_ascii=False, separators=(",", ":")
        )
        return hashlib.sha256(canonical.encode()).hexdigest()


class Telemetry(Strict):
    """How visit statistics and diagnostics run (``[telemetry]``, optional).

    ``purpose``: the statistics purpose; when it has ``consent_required``, visits are recorded only after
    the banner's yes. ``search_min_visitors``: k, the distinct visitors a site-search query needs on a day
    before it is kept (and the smallest count a report shows). ``diagnostics_purpose``: the purpose whose
    retention bounds the diagnostics log.
    """

    purpose: Identifier | None = None
    search_min_visitors: Annotated[int, Field(ge=2, le=1000)] = 5
    diagnostics_purpose: Identifier | None = None


class Policy(Strict):
    """The whole policy file."""

    languages: Annotated[list[Language], Field(min_length=1)] = ["fr", "en"]
    operator: Operator
    categories: dict[Identifier, Category]
    retention: dict[Identifier, RetentionClass]
    purposes: dict[Identifier, Purpose]
    recipients: dict[Identifier, Recipient] = {}
    cookies: dict[str, Cookie] = {}
    widgets: dict[Identifier, Widget] = {}
    terms: Terms | None = None
    telemetry: Telemetry = Telemetry()
