"""Visit statistics and diagnostics. Every model here lives in the ``telemetry`` alias (core.routers).

No model here may hold anything that joins a visit to a person: no relation, no account or subject id,
no session key, no e-mail, no raw IP address — the system check ``telemetry.E001``/``E002`` refuses to
start otherwise. ``Diagnostic`` is the one exception for the IP address (errors and security events,
kept for the policy's diagnostics retention) and is never joined to anything either.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Hit(models.Model):
    """One page view, stripped: the minute, the page, where it came from, what kind of browser.

    ``visitor_key`` is HMAC-SHA256(daily salt, site | truncated IP | user agent), cut to 128 bits: it
    counts a visitor within one day and, once the day's salt is destroyed (48 hours), never again.
    """

    minute = models.DateTimeField(db_index=True)
    path = models.CharField(max_length=512)
    referrer_host = models.CharField(max_length=255, blank=True, default="")
    browser = models.CharField(max_length=64, blank=True, default="")
    browser_major = models.CharField(max_length=16, blank=True, default="")
    os = models.CharField(max_length=64, blank=True, default="")
    device = models.CharField(max_length=16, blank=True, default="")
    country = models.CharField(max_length=2, blank=True, default="")
    region = models.CharField(max_length=64, blank=True, default="")
    isp = models.CharField(max_length=128, blank=True, default="")
    visitor_key = models.CharField(max_length=32)
    is_bot = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("page view")
        verbose_name_plural = _("page views")

    def __str__(self) -> str:
        return f"{self.minute:%Y-%m-%d %H:%M} {self.path}"


class DailyTotal(models.Model):
    """Page views, visitors and bot views of one day (the visitors-per-day chart reads one row a day)."""

    day = models.DateField(unique=True)
    views = models.PositiveIntegerField(default=0)
    visitors = models.PositiveIntegerField(default=0)
    bot_views = models.PositiveIntegerField(default=0)

    class Meta:
        permissions = [("view_statistics", "Can view visit statistics")]

    def __str__(self) -> str:
        return f"{self.day}: {self.views}"


class Dimension(models.TextChoices):
    PAGE = "page", _("Pages")
    REFERRER = "referrer", _("Referrers")
    BROWSER = "browser", _("Browsers")
    OS = "os", _("Operating systems")
    DEVICE = "device", _("Devices")
    COUNTRY = "country", _("Countries")
    REGION = "region", _("Regions")
    ISP = "isp", _("Internet providers")


class DailyCount(models.Model):
    """Page views and visitors of one value of one dimension (a page, a browser, a country…) on one day."""

    day = models.DateField()
    dimension = models.CharField(max_length=16, choices=Dimension.choices)
    value = models.CharField(max_length=512)
    views = models.PositiveIntegerField(default=0)
    visitors = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["dimension", "day", "value"], name="telemetry_dailycount_unique")
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.dimension}={self.value}"


class SearchQueryDay(models.Model):
    """A normalized site-search query asked on one day by at least k distinct visitors (never fewer)."""

    day = models.DateField()
    query = models.CharField(max_length=200)
    visitors = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["day", "query"], name="telemetry_searchqueryday_unique")
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.query}"


class SearchPending(models.Model):
    """One visitor's search of one day, waiting for the rollup to know whether k visitors asked it.

    Minimal and short-lived: ``digest`` = HMAC(day salt, query) groups equal queries; ``sealed`` is the
    query encrypted under a key derived from the same salt, so the text is readable only while the day's
    salt exists (48 hours). The rollup of a finished day deletes every row of that day.
    """

    day = models.DateField(db_index=True)
    digest = models.CharField(max_length=32)
    visitor_key = models.CharField(max_length=32)
    sealed = models.BinaryField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "digest", "visitor_key"], name="telemetry_searchpending_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.digest}"


class DropCount(models.Model):
    """Hits dropped on one day, by reason (buffer full, per-visitor rate exceeded, write failed)."""

    day = models.DateField()
    reason = models.CharField(max_length=16)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "reason"], name="telemetry_dropcount_unique")]

    def __str__(self) -> str:
        return f"{self.day} {self.reason}: {self.count}"


class DiagnosticKind(models.TextChoices):
    ERROR = "error", _("Server error")
    FORBIDDEN = "forbidden", _("Refused (403, e.g. CSRF)")
    THROTTLED = "throttled", _("Throttled (429, e.g. sign-in attempts)")


class Diagnostic(models.Model):
    """An error or security event: the full IP address and request line, for the diagnostics retention.

    Never joined to an account: there is no user, session or subject column here, only the network facts.
    """

    time = models.DateTimeField(db_index=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    request_line = models.CharField(max_length=1024)
    status = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=16, choices=DiagnosticKind.choices)

    class Meta:
        verbose_name = _("diagnostic")

    def __str__(self) -> str:
        return f"{self.time:%Y-%m-%d %H:%M:%S} {self.status} {self.kind}"


# The policy category of the diagnostics' IP address (pacte.E001 asks every personal field for one).
Diagnostic._meta.get_field("ip").pacte_category = "network.ip"  # type: ignore[attr-defined]

# The models whose columns the linkability check (telemetry.E001/E002) inspects.
UNLINKABLE_MODELS: tuple[type[models.Model], ...] = (
    Hit,
    DailyTotal,
    DailyCount,
    SearchQueryDay,
    SearchPending,
    DropCount,
)
