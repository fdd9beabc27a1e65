"""Stripe's SDK traffic through Pacte's one outbound client: ``sharing.http.send``, recipient ``stripe``.

``StripeGateway`` gives ``stripe.StripeClient`` this ``GateHTTPClient`` as its ``http_client``: every
request the SDK makes (customers, payment intents, refunds, payment methods) is checked by the policy
before it leaves — the recipient must be declared and the host among its ``hosts`` (``api.stripe.com``
in production, localstripe's ``127.0.0.1`` only under a test policy), https only and public addresses
only unless the sharing settings allow otherwise. A refused host raises the gate's coded
``PacteError`` (``sharing.undeclared_host``…) and nothing is sent. What the SDK sends about a person
was disclosed first (``billing.services``: a ``disclosure`` ledger entry per personal-data call).

A request that got no answer becomes ``stripe.APIConnectionError`` (retryable with the same
idempotency key), which the gateway reports as "unavailable".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import stripe

from pacte.sharing import http


class GateHTTPClient(stripe.HTTPClient):
    """A ``stripe.HTTPClient`` whose every request goes through ``sharing.http.send``."""

    name = "pacte-sharing-gate"

    def __init__(self, *, recipient: str = "stripe", timeout: float = 20.0) -> None:
        super().__init__()
        self.recipient = recipient
        self.timeout = timeout

    def request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        post_data: Any = None,
        *,
        _usage: Any = None,
    ) -> tuple[str, int, Mapping[str, str]]:
        if isinstance(post_data, str):
            post_data = post_data.encode("utf-8")
        try:
            answer = http.send(
                recipient=self.recipient,
                method=method,
                url=url,
                disclosure=None,  # disclosed by billing before the SDK call (see the module's docstring)
                headers=dict(headers or {}),
                content=post_data or b"",
                timeout=self.timeout,
            )
        except http.SendFailed as failed:
            raise stripe.APIConnectionError(
                f"Stripe could not be reached ({failed.reason}).", should_retry=True
            ) from None
        # The SDK reads the body as text (its own clients decode it the same way).
        return answer.content.decode("utf-8", "replace"), answer.status, answer.headers

    def request_stream(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        post_data: Any = None,
        *,
        _usage: Any = None,
    ) -> tuple[Any, int, Mapping[str, str]]:
        content, status, answer_headers = self.request(method, url, headers, post_data)
        return iter([content]), status, answer_headers

    def close(self) -> None:
        """Nothing to close: ``sharing.http.send`` opens and closes a connection per request."""
