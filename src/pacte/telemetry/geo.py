"""Country, region and ISP of an address, from MaxMind-format databases the operator supplies.

Nothing is looked up remotely: the operator points ``PACTE_GEOIP_CITY_DB`` at a GeoLite2/GeoIP2 City or
Country file and ``PACTE_GEOIP_ASN_DB`` at a GeoLite2-ASN or GeoIP2-ISP file. Without one (or when it
cannot be read) that part stays empty and :attr:`GeoLocator.available` says so, for the back office.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import re
import threading
from dataclasses import dataclass
from typing import Any

import maxminddb
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

logger = logging.getLogger(__name__)

CITY_SETTING = "PACTE_GEOIP_CITY_DB"
ASN_SETTING = "PACTE_GEOIP_ASN_DB"
MAX_REGION = 64
MAX_ISP = 128
_COUNTRY_CODE = re.compile(r"[A-Z]{2}")


@dataclass(frozen=True)
class Location:
    """Where an address is registered: ISO country code, subdivision code (or name), ISP; "" when unknown."""

    country: str
    region: str
    isp: str


UNKNOWN = Location("", "", "")


def _text(value: Any, limit: int) -> str:
    return value.strip()[:limit] if isinstance(value, str) else ""


def _field(record: Any, *keys: str | int) -> Any:
    """Walk ``record`` through nested maps and lists; ``None`` where the shape does not match."""
    for key in keys:
        if isinstance(key, int):
            if not isinstance(record, list) or len(record) <= key:
                return None
        elif not isinstance(record, dict):
            return None
        record = record[key] if isinstance(key, int) else record.get(key)
    return record


def _open(path: str | None, part: str) -> maxminddb.Reader | None:
    """Open one database, or log one warning (no address in it) and return ``None``."""
    if not path:
        return None
    try:
        return maxminddb.open_database(str(path), maxminddb.MODE_AUTO)
    except Exception as error:  # missing, unreadable or corrupt: that part is unavailable, never a crash
        logger.warning(
            "Telemetry: the %s database %s cannot be read (%s); %s stays empty.",
            part,
            path,
            type(error).__name__,
            part,
        )
        return None


def _address(ip: Any) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = (
            ip if isinstance(ip, ipaddress.IPv4Address | ipaddress.IPv6Address) else ipaddress.ip_address(ip)
        )
    except (TypeError, ValueError):
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address


class GeoLocator:
    """Look up addresses in the operator's City/Country and ASN/ISP databases (either may be missing)."""

    def __init__(self, *, city_db: str | None, asn_db: str | None) -> None:
        self._city = _open(city_db, "location")
        self._asn = _open(asn_db, "isp")

    @property
    def available(self) -> dict[str, bool]:
        """Tell which columns lookups can fill: ``{"location": bool, "isp": bool}``."""
        return {"location": self._city is not None, "isp": self._asn is not None}

    def lookup(self, ip: ipaddress.IPv4Address | ipaddress.IPv6Address | str | None) -> Location:
        """Return the country, region and ISP of ``ip``; empty fields for what is not known.

        A bad, private, loopback or otherwise non-global address, or one without a record, gives empty
        fields. Never raises.
        """
        address = _address(ip)
        if address is None or not address.is_global:
            return UNKNOWN
        country = region = isp = ""
        if self._city is not None:
            record = self._get(self._city, address)
            code = _text(_field(record, "country", "iso_code"), 2) or _text(
                _field(record, "registered_country", "iso_code"), 2
            )
            country = code if _COUNTRY_CODE.fullmatch(code) else ""
            region = _text(_field(record, "subdivisions", 0, "iso_code"), MAX_REGION) or _text(
                _field(record, "subdivisions", 0, "names", "en"), MAX_REGION
            )
            # GeoIP2 Enterprise carries the ISP in the City record.
            isp = _text(_field(record, "traits", "isp"), MAX_ISP)
        if self._asn is not None:
            record = self._get(self._asn, address)
            isp = (
                _text(_field(record, "isp"), MAX_ISP)
                or _text(_field(record, "autonomous_system_organization"), MAX_ISP)
                or isp
            )
        if not (country or region or isp):
            return UNKNOWN
        return Location(country=country, region=region, isp=isp)

    @staticmethod
    def _get(reader: maxminddb.Reader, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> Any:
        try:
            return reader.get(address)
        except Exception:  # IPv6 in an IPv4-only file, a closed or damaged file: no record
            return None

    def close(self) -> None:
        """Close both databases; later lookups give empty fields."""
        for reader in (self._city, self._asn):
            if reader is not None:
                try:
                    reader.close()
                except Exception:  # already closed
                    logger.debug("Telemetry: a GeoIP database was already closed.")


_lock = threading.Lock()


@functools.cache
def _locator() -> GeoLocator:
    return GeoLocator(
        city_db=getattr(settings, CITY_SETTING, None) or None,
        asn_db=getattr(settings, ASN_SETTING, None) or None,
    )


def geo_locator() -> GeoLocator:
    """Return this process's :class:`GeoLocator`, opened from the settings on first use."""
    with _lock:
        return _locator()


def reset_geo_locator() -> None:
    """Close the process's locator so that the next :func:`geo_locator` call reads the settings again."""
    with _lock:
        if _locator.cache_info().currsize:
            _locator().close()
        _locator.cache_clear()


@receiver(setting_changed)
def _settings_changed(*, setting: str, **kwargs: Any) -> None:
    # Tests (override_settings, pytest-django's ``settings``) change the paths at run time.
    if setting in (CITY_SETTING, ASN_SETTING):
        reset_geo_locator()
