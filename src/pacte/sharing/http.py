"""The one outbound HTTP client of Pacte's code: a call reaches only a host the policy declares.

Every request to a third party goes through ``send``. It refuses, with a coded ``PacteError`` and before
anything leaves the machine: a recipient the policy does not declare; a host not among that recipient's
``hosts``; a URL that is not ``https://`` (unless ``PACTE_SHARING_ALLOW_INSECURE``); a host that resolves
to a loopback, private, link-local, shared, multicast or reserved address (unless
``PACTE_SHARING_ALLOW_PRIVATE_NETWORKS``: server-side request forgery). The name is resolved once, every
address it resolves to is checked, and the connection goes to that checked address (the TLS name and the
``Host`` header stay the declared name), so a DNS answer that changes between the check and the connect
(rebinding) cannot redirect it. Redirects are never followed, and proxies from the environment are not
used (they would connect elsewhere than the checked address).

An import-linter contract (``pyproject.toml``, id ``one-http-client``) and a test keep every other module
of Pacte from importing an HTTP library.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import socket
import ssl
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

import certifi
import httpx
from django.utils.translation import gettext as _

from pacte.core.errors import PacteError
from pacte.policy.selectors import policy_active
from pacte.sharing import app_settings, error_codes
from pacte.sharing.services import Disclosure

MAX_BODY = 64 * 1024  # bytes of a response kept: enough for an error message, never a download
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# httpx logs every request's URL at INFO; a URL may carry a token or a reference: keep it out of logs.
logging.getLogger("httpx").setLevel(logging.WARNING)


@dataclass(frozen=True)
class Response:
    """What came back: the status, the headers (lower-case names) and at most ``MAX_BODY`` bytes."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    content: bytes = b""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class SendFailed(PacteError):
    """The request left (or tried to) but got no answer: connection refused, reset, timed out…

    ``reason`` is the error's class name only (no URL, no payload), safe to store and show to staff.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(_("The recipient could not be reached (%(reason)s).") % {"reason": reason},
                         error_codes.SEND_FAILED)  # fmt: skip
        self.reason = reason


@functools.cache
def _tls() -> ssl.SSLContext:
    """Return the TLS context of every call (certificates checked), built once: building it reads the CA file."""
    return ssl.create_default_context(cafile=certifi.where())


def _public(address: IPAddress) -> bool:
    """Tell whether ``address`` is a public unicast address (an IPv4-mapped IPv6 one is judged as IPv4)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def _resolve(host: str, port: int) -> list[IPAddress]:
    """Return every address ``host`` resolves to (an IP literal is itself), in the resolver's order."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise SendFailed(type(error).__name__) from None
    addresses: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


def check_url(*, recipient: str, url: str) -> tuple[str, str, int]:
    """Check ``url`` against the policy and the settings, without resolving it; return (scheme, host, port).

    Used by ``send`` and by whoever registers an address to call later (webhook endpoints), so that a
    wrong address is refused when it is typed, not at the first delivery.
    """
    declared = policy_active().recipients.get(recipient)
    if declared is None:
        raise PacteError(
            _("The policy declares no recipient %(recipient)s.") % {"recipient": repr(recipient)},
            error_codes.UNKNOWN_RECIPIENT,
        )
    try:
        parts = urlsplit(url)
        port = parts.port
        host = (parts.hostname or "").encode("idna").decode("ascii").lower().rstrip(".")
    except (ValueError, UnicodeError):
        host, port, parts = "", None, urlsplit("")
    if parts.scheme not in ("https", "http") or not host or parts.username or parts.password:
        raise PacteError(
            _(
                "This is not a web address Pacte can call: write https://host/path, without a user or password."
            ),
            error_codes.BAD_URL,
        )
    if parts.scheme == "http" and not app_settings.allow_insecure():
        raise PacteError(
            _("Only https:// addresses may be called (PACTE_SHARING_ALLOW_INSECURE is off)."),
            error_codes.INSECURE_URL,
        )
    if not declared.allows_host(host):
        raise PacteError(
            _(
                "The policy does not let Pacte reach %(host)s for %(recipient)s. Its declared hosts: "
                "%(hosts)s. Add the host to [recipients.%(recipient_id)s] hosts, or use a declared one."
            )
            % {
                "host": host,
                "recipient": declared.name,
                "recipient_id": recipient,
                "hosts": ", ".join(declared.hosts) or "—",
            },
            error_codes.UNDECLARED_HOST,
        )
    return parts.scheme, host, port or (443 if parts.scheme == "https" else 80)


def send(
    *,
    recipient: str,
    method: str,
    url: str,
    disclosure: Disclosure | None,
    headers: dict[str, str] | None = None,
    content: bytes = b"",
    timeout: float = 10.0,
) -> Response:
    """Send one HTTP request to ``recipient`` at ``url`` if the policy allows it; return the answer.

    ``disclosure`` is what ``sharing.services.disclose`` returned for the personal data in ``content``
    (its recipient must be this one), or None when the request carries none (a notice, a status
    check). Refusals (``check_url``'s, and ``sharing.private_address``) send nothing. A request that got
    no answer raises ``SendFailed``; any answer, 3xx included (redirects are not followed), is returned.
    """
    if disclosure is not None and disclosure.recipient != recipient:
        raise PacteError(
            _("This disclosure was checked for another recipient: check it again for this one."),
            error_codes.DISCLOSURE_MISMATCH,
        )
    scheme, host, port = check_url(recipient=recipient, url=url)
    addresses = _resolve(host, port)
    if not addresses:
        raise SendFailed("gaierror")
    if not app_settings.allow_private_networks() and not all(_public(a) for a in addresses):
        raise PacteError(
            _(
                "%(host)s leads to an address inside a private network or this machine; Pacte does not "
                "call such addresses (PACTE_SHARING_ALLOW_PRIVATE_NETWORKS is off)."
            )
            % {"host": host},
            error_codes.PRIVATE_ADDRESS,
        )
    pinned = addresses[0]
    netloc = f"[{pinned}]:{port}" if pinned.version == 6 else f"{pinned}:{port}"
    parts = urlsplit(url)
    target = urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))
    default_port = 443 if scheme == "https" else 80
    request_headers = {**(headers or {}), "Host": host if port == default_port else f"{host}:{port}"}
    try:
        with httpx.Client(follow_redirects=False, trust_env=False, timeout=timeout, verify=_tls()) as client:
            request = client.build_request(
                method.upper(),
                target,
                headers=request_headers,
                content=content,
                extensions={"sni_hostname": host},  # the certificate is checked against the declared name
            )
            answer = client.send(request, stream=True)
            try:
                body = b""
                for chunk in answer.iter_bytes():
                    body += chunk
                    if len(body) >= MAX_BODY:
                        break
            finally:
                answer.close()
            return Response(
                status=answer.status_code,
                headers={name.lower(): value for name, value in answer.headers.items()},
                content=body[:MAX_BODY],
            )
    except httpx.HTTPError as error:
        raise SendFailed(type(error).__name__) from None
