"""PayPal's SDK traffic through Pacte's one outbound client: ``sharing.http.send``, recipient ``paypal``.

``paypal-server-sdk`` is generated on apimatic-core, whose HTTP layer is pluggable: the SDK's
``Configuration.create_http_client()`` returns the ``HttpClient`` (apimatic-core-interfaces) that executes
every request — the OAuth2 token call included — and by default builds a ``requests`` session.
``PayPalGateway``'s configuration returns ``GateHttpClient`` instead, so each request the SDK makes is
checked by the policy before it leaves: the ``paypal`` recipient must be declared and the host among its
``hosts`` (``api-m.paypal.com`` in production, the local PayPal's ``127.0.0.1`` only under a test policy),
https only and public addresses only unless the sharing settings allow otherwise. A refused host raises
the gate's coded ``PacteError`` (``sharing.undeclared_host``…) and nothing is sent.

A request that got no answer becomes ``ConnectionError`` (an ``OSError``, as ``requests`` raises), which
the gateway reports as "unavailable". Retries are Pacte's (``max_retries=0``), with the same
``PayPal-Request-Id``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from apimatic_core_interfaces.client.http_client import HttpClient
from apimatic_core_interfaces.types.http_method_enum import HttpMethodEnum

from pacte.sharing import http


class GateHttpClient(HttpClient):
    """An apimatic ``HttpClient`` whose every request goes through ``sharing.http.send``."""

    def __init__(self, *, recipient: str, timeout: float, response_factory: Any) -> None:
        self.recipient = recipient
        self.timeout = timeout
        self.response_factory = response_factory

    def execute(self, request: Any, endpoint_configuration: Any) -> Any:
        """Send the SDK's ``request`` through the gate; return the SDK's response object."""
        if request.files:
            # No PayPal call Pacte makes uploads a file; refuse rather than send it another way.
            raise ValueError("file uploads are not sent through the sharing gate")
        url = str(request.query_url)
        if request.query_parameters:
            url += ("&" if "?" in url else "?") + urlencode(request.query_parameters, doseq=True)
        headers = {str(k): str(v) for k, v in (request.headers or {}).items()}
        body = request.parameters
        if body is None:
            content = b""
        elif isinstance(body, bytes):
            content = body
        elif isinstance(body, str):
            content = body.encode("utf-8")
        else:
            # Form parameters (the OAuth2 token call): a list of pairs or a dict, as requests would encode.
            content = urlencode(list(body.items()) if isinstance(body, dict) else list(body)).encode()
            if not any(name.lower() == "content-type" for name in headers):
                headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            answer = http.send(
                recipient=self.recipient,
                method=HttpMethodEnum.to_string(request.http_method),
                url=url,
                disclosure=None,  # disclosed by billing once the call succeeds (flows/accounts.py, payment.py)
                headers=headers,
                content=content,
                timeout=self.timeout,
            )
        except http.SendFailed as failed:
            raise ConnectionError(f"PayPal could not be reached ({failed.reason}).") from None
        return self.convert_response(answer, endpoint_configuration.contains_binary_response, request)

    def convert_response(self, response: Any, contains_binary_response: bool, request: Any) -> Any:
        """Turn the gate's ``Response`` into the SDK's ``HttpResponse`` (text unless binary)."""
        body = response.content if contains_binary_response else response.content.decode("utf-8", "replace")
        return self.response_factory.create(response.status, "", dict(response.headers), body, request)
