"""Receiving a gateway's webhook: verify it, then apply it once. Used by the view and the sandbox alike."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from django.utils.translation import gettext as _

from pacte.billing import error_codes, services
from pacte.billing.gateways import gateway_get
from pacte.billing.gateways.base import WebhookForged
from pacte.core.errors import PacteError

logger = logging.getLogger("pacte.billing")


def webhook_receive(*, gateway: str, body: bytes, headers: Mapping[str, str]) -> str:
    """Verify ``body`` with the gateway's signature scheme and apply it; return the outcome code.

    A forged, malformed or too old webhook raises a ``PacteError`` (status 400) and logs one line with
    the gateway and the reason — never the body or the headers.
    """
    implementation = gateway_get(gateway)
    try:
        event = implementation.webhook_parse(body=body, headers=headers)
    except WebhookForged as forged:
        logger.warning("billing webhook refused: gateway=%s reason=%s", gateway, forged.reason)
        raise PacteError(
            _("This notification could not be verified."), error_codes.WEBHOOK_FORGED, status=400
        ) from None
    outcome = services.webhook_event_apply(gateway=gateway, event=event)
    logger.info("billing webhook: gateway=%s kind=%s outcome=%s", gateway, event.kind, outcome)
    return outcome
