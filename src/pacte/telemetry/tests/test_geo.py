"""Location and ISP from MaxMind-format files built by the test; missing or bad files never crash."""

from __future__ import annotations

import ipaddress
import logging
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pacte.telemetry.geo import UNKNOWN, GeoLocator, Location, geo_locator
from pacte.telemetry.tests.mmdb import CITY_ONLY, NETWORKS, NOT_IN_DB, GeoTestDatabases, write_test_databases


@pytest.fixture
def dbs(tmp_path: Path) -> GeoTestDatabases:
    return write_test_databases(tmp_path)


@pytest.fixture
def locator(dbs: GeoTestDatabases):
    located = GeoLocator(city_db=dbs.city, asn_db=dbs.asn)
    yield located
    located.close()


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("81.2.69.142", Location("GB", "ENG", "Test Telecom UK")),
        (ipaddress.ip_address("89.160.20.1"), Location("SE", "E", "Test Bredband AB")),
        ("2a01:e0a:100:42::1", Location("FR", "IDF", "Test Free SAS")),
        ("2001:218:ffff::1", Location("JP", "", "Test NTT")),
        # An IPv4-mapped address is looked up as the IPv4 address it carries.
        ("::ffff:81.2.69.142", Location("GB", "ENG", "Test Telecom UK")),
        # The truncated form the middleware keeps finds the same record.
        ("81.2.69.0", Location("GB", "ENG", "Test Telecom UK")),
        ("175.16.199.77", Location(CITY_ONLY[1], CITY_ONLY[2], "")),
    ],
)
def test_lookup_reads_country_region_and_isp(
    locator: GeoLocator, address: object, expected: Location
) -> None:
    assert locator.lookup(address) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "address",
    [
        *NOT_IN_DB,
        "10.1.2.3",
        "192.168.0.1",
        "127.0.0.1",
        "::1",
        "fe80::1",
        "192.0.2.1",
        "not an ip",
        "",
        None,
        42,
    ],
)
def test_unknown_private_and_bad_addresses_give_empty_fields(locator: GeoLocator, address: object) -> None:
    assert locator.lookup(address) == UNKNOWN == Location("", "", "")  # type: ignore[arg-type]


def test_each_part_works_alone_and_says_whether_it_is_available(dbs: GeoTestDatabases) -> None:
    city_only = GeoLocator(city_db=dbs.city, asn_db=None)
    isp_only = GeoLocator(city_db=None, asn_db=dbs.asn)
    neither = GeoLocator(city_db=None, asn_db=None)
    assert city_only.available == {"location": True, "isp": False}
    assert isp_only.available == {"location": False, "isp": True}
    assert neither.available == {"location": False, "isp": False}
    assert city_only.lookup("81.2.69.142") == Location("GB", "ENG", "")
    assert isp_only.lookup("81.2.69.142") == Location("", "", "Test Telecom UK")
    assert neither.lookup("81.2.69.142") == UNKNOWN


def test_an_ipv6_address_in_an_ipv4_only_database_gives_empty_fields(dbs: GeoTestDatabases) -> None:
    located = GeoLocator(city_db=None, asn_db=dbs.asn_ipv4_only)
    assert located.lookup("2a01:e0a:100::1") == UNKNOWN
    assert located.lookup("81.2.69.1") == Location("", "", "Test Telecom UK")


def test_an_isp_database_is_preferred_to_the_asn_organisation(tmp_path: Path) -> None:
    from mmdb_writer import MMDBWriter
    from netaddr import IPSet

    writer = MMDBWriter(ip_version=4, database_type="GeoIP2-ISP")
    writer.insert_network(
        IPSet(["81.2.69.0/24"]), {"isp": "Retail ISP", "autonomous_system_organization": "Transit AS"}
    )
    path = str(tmp_path / "isp.mmdb")
    writer.to_db_file(path)
    assert GeoLocator(city_db=None, asn_db=path).lookup("81.2.69.5") == Location("", "", "Retail ISP")


@pytest.mark.parametrize("kind", ["missing", "corrupt", "directory", "empty"])
def test_a_missing_or_corrupt_file_leaves_that_part_empty_with_one_warning_and_no_address(
    dbs: GeoTestDatabases, tmp_path: Path, caplog: pytest.LogCaptureFixture, kind: str
) -> None:
    bad = tmp_path / f"bad-{kind}.mmdb"
    if kind == "corrupt":
        bad.write_bytes(b"\x00\x01 this is no MaxMind database " * 100)
    elif kind == "directory":
        bad.mkdir()
    elif kind == "empty":
        bad.write_bytes(b"")
    with caplog.at_level(logging.WARNING, logger="pacte.telemetry.geo"):
        located = GeoLocator(city_db=str(bad), asn_db=dbs.asn)
        assert located.available == {"location": False, "isp": True}
        assert located.lookup("81.2.69.142") == Location("", "", "Test Telecom UK")
    warnings = [r for r in caplog.records if r.name == "pacte.telemetry.geo"]
    assert len(warnings) == 1
    assert warnings[0].levelno == logging.WARNING
    assert "location" in warnings[0].getMessage()
    assert "81.2.69" not in caplog.text


def test_close_makes_later_lookups_empty_instead_of_failing(locator: GeoLocator) -> None:
    locator.close()
    locator.close()
    assert locator.lookup("81.2.69.142") == UNKNOWN


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=200)
@given(address=st.one_of(st.ip_addresses(), st.ip_addresses().map(str), st.text(max_size=60)))
def test_lookup_never_raises(locator: GeoLocator, address: object) -> None:
    result = locator.lookup(address)  # type: ignore[arg-type]
    assert isinstance(result, Location)
    assert len(result.country) in (0, 2)
    # Every answer comes from one of the test networks, or is empty.
    assert result == UNKNOWN or result.country in {c for c, _r, _i in NETWORKS.values()} | {CITY_ONLY[1]}


def test_geo_locator_is_built_once_from_the_settings(settings, dbs: GeoTestDatabases) -> None:  # type: ignore[no-untyped-def]
    settings.PACTE_GEOIP_CITY_DB = dbs.city
    settings.PACTE_GEOIP_ASN_DB = dbs.asn
    first = geo_locator()
    assert geo_locator() is first
    assert first.available == {"location": True, "isp": True}
    assert first.lookup("2a01:e0a:100::1") == Location("FR", "IDF", "Test Free SAS")
    # Changing a path (as a test or a reload does) opens the files again; the old locator is closed.
    settings.PACTE_GEOIP_ASN_DB = None
    second = geo_locator()
    assert second is not first
    assert second.available == {"location": True, "isp": False}
    assert first.lookup("2a01:e0a:100::1") == UNKNOWN


def test_geo_locator_without_settings_has_nothing_available(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings.PACTE_GEOIP_CITY_DB = None
    settings.PACTE_GEOIP_ASN_DB = str(tmp_path / "nowhere.mmdb")
    assert geo_locator().available == {"location": False, "isp": False}
    assert geo_locator().lookup("81.2.69.142") == UNKNOWN
