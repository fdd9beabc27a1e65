"""Small MaxMind-format databases for tests, written with ``mmdb_writer`` (no download, no real data).

The records have the shapes of GeoLite2-City (``country.iso_code``, ``subdivisions[0].iso_code``) and
GeoLite2-ASN (``autonomous_system_organization``), for a few IPv4 and IPv6 networks. Addresses are global
ones (documentation ranges count as private and are never looked up).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mmdb_writer import MMDBWriter
from netaddr import IPSet

# network -> (country, region, ISP); the expected Location of any address inside it.
NETWORKS: dict[str, tuple[str, str, str]] = {
    "81.2.69.0/24": ("GB", "ENG", "Test Telecom UK"),
    "89.160.20.0/24": ("SE", "E", "Test Bredband AB"),
    "2a01:e0a:100::/48": ("FR", "IDF", "Test Free SAS"),
    "2001:218::/32": ("JP", "", "Test NTT"),  # a country record without subdivisions
}
# A network with a City record but no ASN record.
CITY_ONLY = ("175.16.199.0/24", "CN", "22")
# Global addresses with no record in either database.
NOT_IN_DB = ("8.8.8.8", "2606:4700::1111")


@dataclass(frozen=True)
class GeoTestDatabases:
    """Paths of the databases :func:`write_test_databases` wrote."""

    city: str
    asn: str
    asn_ipv4_only: str


def _city_record(country: str, region: str) -> dict[str, object]:
    record: dict[str, object] = {
        "country": {"iso_code": country, "geoname_id": 1, "names": {"en": country}},
        "continent": {"code": "EU"},
        "location": {"accuracy_radius": 100},
    }
    if region:
        record["subdivisions"] = [{"iso_code": region, "names": {"en": f"Region {region}"}}]
    return record


def write_test_databases(directory: Path) -> GeoTestDatabases:
    """Write a City-shaped, an ASN-shaped and an IPv4-only ASN-shaped ``.mmdb`` into ``directory``."""
    city = MMDBWriter(
        ip_version=6,
        ipv4_compatible=True,
        database_type="GeoLite2-City",
        languages=["en"],
        description="Pacte test City database",
    )
    asn = MMDBWriter(
        ip_version=6,
        ipv4_compatible=True,
        database_type="GeoLite2-ASN",
        languages=["en"],
        description="Pacte test ASN database",
    )
    asn4 = MMDBWriter(
        ip_version=4,
        database_type="GeoLite2-ASN",
        languages=["en"],
        description="Pacte test IPv4-only ASN database",
    )
    for number, (network, (country, region, isp)) in enumerate(NETWORKS.items(), start=64500):
        city.insert_network(IPSet([network]), _city_record(country, region))
        record = {"autonomous_system_number": number, "autonomous_system_organization": isp}
        asn.insert_network(IPSet([network]), record)
        if ":" not in network:
            asn4.insert_network(IPSet([network]), record)
    network, country, region = CITY_ONLY
    city.insert_network(IPSet([network]), _city_record(country, region))
    paths = GeoTestDatabases(
        city=str(directory / "test-city.mmdb"),
        asn=str(directory / "test-asn.mmdb"),
        asn_ipv4_only=str(directory / "test-asn-v4.mmdb"),
    )
    city.to_db_file(paths.city)
    asn.to_db_file(paths.asn)
    asn4.to_db_file(paths.asn_ipv4_only)
    return paths
