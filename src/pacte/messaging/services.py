"""Writes of messaging: queue a message, send it with retries, subscribe, unsubscribe, run a campaign."""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import IntegrityError, transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.crypto import salted_hmac
from django.utils.html import conditional_escape
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from pacte.accounts.selectors import account_contact, account_mail_stopped_ids
from pacte.accounts.services import email_pseudonym
from pacte.consent.selectors import consent_subject_ids
from pacte.consent.services import consent_set, purpose_check
from pacte.core.errors import PacteError

# ``tasks`` imports this module back: only its attributes are used here, at call time.
from pacte.messaging import app_settings, error_codes, selectors, tasks
from pacte.messaging.models import Campaign, MessageKind, MessageStatus, OutboxMessage, Subscriber
from pacte.messaging.spool import spool_dir, spool_purge
from pacte.subjects.models import SubjectKind
from pacte.subjects.selectors import subject_get
from pacte.subjects.services import subject_create, subject_mark_erased
from pacte.vault.crypto import data_keys_load
from pacte.vault.services import keys_destroy

# Seconds to wait before attempt 2, 3, 4, 5; then the message is marked failed.
BACKOFF = (60, 300, 1800, 7200)
CONFIRM_SALT = "pacte.messaging.subscribe"
CONFIRM_DAYS = 7
# The campaign templates staff may send: id -> label. Each id is messaging/campaigns/<id>.txt; nothing
# else is ever rendered for a campaign (no free template name, no path).
CAMPAIGN_TEMPLATES: dict[str, Any] = {
    "demo": gettext_lazy("Demo: news from us"),
}


def message_queue(
    *,
    subject_id: Any,
    to: str,
    subject_line: str,
    body: str,
    template: str,
    html: str = "",
    kind: str = MessageKind.TRANSACTIONAL,
    purpose: str = "",
    headers: dict[str, str] | None = None,
    campaign: Campaign | None = None,
    ephemeral: bool = False,
) -> OutboxMessage:
    """Write a message in the caller's transaction and enqueue its sending in the same transaction.

    ``ephemeral`` messages are forgotten once sent or failed (see ``message_queue_ephemeral``).
    """
    with transaction.atomic():
        message = OutboxMessage(
            subject_id=subject_id,
            to=to,
            subject_line=subject_line,
            body=body,
            html=html,
            template=template,
            kind=kind,
            purpose=purpose,
            headers=headers or {},
            campaign=campaign,
            ephemeral=ephemeral,
        )
        message.save()
        tasks.message_send.enqueue(str(message.pk))
    return message


@transaction.atomic
def message_queue_ephemeral(
    *, to: str, subject_line: str, body: str, template: str, html: str = ""
) -> OutboxMessage:
    """Queue a message to an address Pacte does not keep, to be forgotten once delivered.

    The message is encrypted under a throwaway subject of its own and sent by the worker like any other
    (so the request takes the same time, whoever the address belongs to, and a slow or broken relay never
    reaches the visitor). Once it is sent, skipped or has failed its last retry, the row is deleted and the
    throwaway subject's keys are destroyed (``_ephemeral_forget``): no copy of the address stays readable,
    backups included.
    """
    return message_queue(
        subject_id=subject_create(kind=SubjectKind.CONTACT).pk,
        to=to,
        subject_line=subject_line,
        body=body,
        html=html,
        template=template,
        ephemeral=True,
    )


def _ephemeral_forget(message: OutboxMessage) -> None:
    """Delete an ephemeral message and destroy its throwaway subject's keys (crypto-shredding)."""
    OutboxMessage.objects.filter(pk=message.pk).delete()
    try:
        keys_destroy(subject=message.subject_id)
    except PacteError as error:
        # The key rows are deleted; only the key store's log still holds old pages until its next
        # checkpoint. The message is gone and delivered: do not fail (and retry) it for that.
        if error.code != "vault.scrub_incomplete":
            raise
    subject = subject_get(subject_id=message.subject_id)
    if subject is not None:
        subject_mark_erased(subject=subject)


def _finish(message: OutboxMessage, **fields: Any) -> str:
    """Record the outcome of an attempt; an ephemeral message that is done with is forgotten at once."""
    status = str(fields.get("status", message.status))
    if message.ephemeral and status != MessageStatus.QUEUED:
        _ephemeral_forget(message)
    else:
        OutboxMessage.objects.filter(pk=message.pk).update(**fields)
    return status


def _finish_many(messages: list[OutboxMessage], **fields: Any) -> None:
    """Record the same outcome for many messages: one UPDATE, ephemeral ones forgotten one by one."""
    for message in messages:
        if message.ephemeral:
            _finish(message, **fields)
    keep = [message.pk for message in messages if not message.ephemeral]
    if keep:
        OutboxMessage.objects.filter(pk__in=keep).update(**fields)


def _sendable(messages: list[OutboxMessage]) -> set[str]:
    """Return the ids of the messages that may go out now, in a few reads whatever their number.

    Marketing needs the consent at sending time; nothing goes to an account whose mail is stopped, except
    password and rights mail.
    """
    stopped = account_mail_stopped_ids(subject_ids={m.subject_id for m in messages})
    consenting: dict[str, set[str]] = {}
    for purpose in {m.purpose for m in messages if m.kind == MessageKind.MARKETING}:
        wanted = [m.subject_id for m in messages if m.kind == MessageKind.MARKETING and m.purpose == purpose]
        consenting[purpose] = {
            str(sid) for sid in consent_subject_ids(purpose=purpose).filter(subject_id__in=wanted)
        }
    allowed = set()
    for message in messages:
        sid = str(message.subject_id)
        if sid in stopped:
            ok = message.kind == MessageKind.TRANSACTIONAL and message.template.startswith(
                ("account/email/password", "rights/")
            )
        elif message.kind == MessageKind.MARKETING:
            ok = sid in consenting[message.purpose]
        else:
            ok = True
        if ok:
            allowed.add(str(message.pk))
    return allowed


def _email(message: OutboxMessage) -> EmailMultiAlternatives:
    email = EmailMultiAlternatives(
        str(message.subject_line),
        str(message.body),
        settings.DEFAULT_FROM_EMAIL,
        [str(message.to)],
        headers=message.headers,
    )
    if message.html:
        email.attach_alternative(str(message.html), "text/html")
    return email


def _relay_send(emails: list[EmailMultiAlternatives]) -> list[Exception | None]:
    """Send each e-mail, over one relay connection where that helps; return each one's error or None.

    A failure closes the session (the next message opens a fresh one); when the relay cannot even be
    reached, the remaining messages get that error without knocking again. The file backend (the embedded
    default's spool) keeps one file per message, so that erasure can delete one person's mail only.
    """
    shared = spool_dir() is None
    connection = get_connection(fail_silently=False) if shared else None
    results: list[Exception | None] = []
    unreachable: Exception | None = None
    try:
        for email in emails:
            if unreachable is not None:
                results.append(unreachable)
                continue
            current = connection or get_connection(fail_silently=False)
            try:
                current.open()
            except Exception as error:  # noqa: BLE001 - any connection problem: retried later
                unreachable = error
                results.append(error)
                continue
            try:
                current.send_messages([email])
                results.append(None)
            except Exception as error:  # noqa: BLE001 - any delivery problem: this message is retried later
                results.append(error)
                current.close()
            if connection is None:
                current.close()
    finally:
        if connection is not None:
            connection.close()
    return results


def _deliver(message_ids: list[str], *, skip_locked: bool) -> dict[str, str]:
    """Send the queued messages among ``message_ids``; return each found message's status by id."""
    outcome: dict[str, str] = {}
    with transaction.atomic():
        rows = list(
            OutboxMessage.objects.select_for_update(skip_locked=skip_locked).filter(pk__in=message_ids)
        )
        for message in rows:
            outcome[str(message.pk)] = str(message.status)
        queued = [m for m in rows if m.status == MessageStatus.QUEUED]
        if not queued:
            return outcome
        allowed = _sendable(queued)
        data_keys_load({m.subject_id for m in queued if str(m.pk) in allowed}, "account")
        skipped, ready = [], []
        for message in queued:
            # Not allowed any more, or the recipient was erased (its key destroyed) or is empty.
            if str(message.pk) not in allowed or not message.to:
                skipped.append(message)
            else:
                ready.append((message, _email(message)))
        _finish_many(skipped, status=MessageStatus.SKIPPED)
        outcome.update((str(m.pk), MessageStatus.SKIPPED) for m in skipped)
    if not ready:
        return outcome
    errors = _relay_send([email for _message, email in ready])
    now = timezone.now()
    done = [message for message, _email in ready]
    sent = [message for message, error in zip(done, errors, strict=True) if error is None]
    failed: dict[tuple[int, str], list[OutboxMessage]] = {}
    for message, error in zip(done, errors, strict=True):
        if error is not None:
            # Keep no personal data in the error: its class name only.
            failed.setdefault((message.attempts + 1, type(error).__name__[:100]), []).append(message)
    with transaction.atomic():
        if sent:
            _finish_many(
                sent, status=MessageStatus.SENT, sent_at=now, attempts=F("attempts") + 1, last_error=""
            )
            outcome.update((str(m.pk), MessageStatus.SENT) for m in sent)
        for (attempts, error_name), messages in failed.items():
            fields: dict[str, Any] = {"attempts": attempts, "last_error": error_name}
            if attempts > len(BACKOFF):
                fields["status"] = MessageStatus.FAILED
            else:
                fields["status"] = MessageStatus.QUEUED
                fields["next_attempt_at"] = now + datetime.timedelta(seconds=BACKOFF[attempts - 1])
            _finish_many(messages, **fields)
            outcome.update((str(m.pk), fields["status"]) for m in messages)
    return outcome


def message_deliver(*, message_id: str) -> str:
    """Send one queued message now; on failure schedule the next attempt (back-off) or give up.

    An ephemeral message is deleted, and its keys destroyed, as soon as it is sent, skipped or failed.
    Returns the message's status ("missing" when there is no such message).
    """
    outcome = _deliver([message_id], skip_locked=False)
    return next(iter(outcome.values()), "missing")


def messages_deliver(*, message_ids: list[str]) -> dict[str, str]:
    """Send many queued messages over one relay connection; return each one's status by id.

    Each message keeps its own life, as with ``message_deliver``: its consent (marketing) and mail stop
    are checked now, a failure schedules its own next attempt (back-off), an ephemeral one is forgotten.
    Rows another sender holds locked (PostgreSQL, ``SKIP LOCKED``) are left to it and absent from the answer.
    """
    outcome: dict[str, str] = {}
    for start in range(0, len(message_ids), 500):
        outcome.update(_deliver(message_ids[start : start + 500], skip_locked=True))
    return outcome


# --- Marketing purposes, unsubscribe links -----------------------------------------------------------


def unsubscribe_token(*, subject_id: Any, purpose: str) -> str:
    """A signed token naming a subject and a purpose: no address, nothing personal in the URL."""
    return signing.dumps({"s": str(subject_id), "p": purpose}, salt=selectors.UNSUBSCRIBE_SALT, compress=True)


def unsubscribe(*, token: str) -> tuple[str, str]:
    """Withdraw the purpose the token names, at once; return (subject id, purpose)."""
    subject_id, purpose = selectors.unsubscribe_token_read(token=token)
    consent_set(subject_id=subject_id, purpose=purpose, granted=False, source="email_link")
    return subject_id, purpose


def _absolute(path: str) -> str:
    return settings.PACTE_BASE_URL.rstrip("/") + path


def _render(template: str, context: dict[str, Any], lang: str) -> tuple[str, str]:
    """Render ``messaging/email/<template>.txt``: the first line is the subject, the rest the body."""
    with translation.override(lang):
        text = render_to_string(f"messaging/{template}.txt", context).strip()
    subject_line, _sep, body = text.partition("\n")
    return subject_line.strip(), body.strip() + "\n"


# Stands for the unsubscribe link while a campaign template is rendered once per language; letters and
# dashes only, so that escaping leaves it as it is.
_LINK_MARK = "pacte-unsubscribe-link-mark"
# What signing.dumps writes (URL-safe base64, ".", ":"): reverse() leaves these unquoted.
_TOKEN_CHARS = re.compile(r"[A-Za-z0-9_.:\-]+")


class _MarketingMail:
    """One marketing template for one purpose: rendered once per language, then filled per person.

    Only the unsubscribe link differs from one person to the next, so the template is rendered with a mark
    in its place and each message replaces the mark (escaped as the template would have escaped it). A
    campaign template receives ``unsubscribe_url`` as text to show: filters that change it are not
    supported (the link is put in after rendering).
    """

    def __init__(self, *, template: str, purpose: str) -> None:
        self.template = f"campaigns/{template}"
        self.purpose = purpose
        self.mailto = settings.PACTE_UNSUBSCRIBE_MAILTO
        self._texts: dict[str, tuple[str, str, str]] = {}
        self._link_parts = _absolute(reverse("messaging:unsubscribe", args=["T0KEN"])).split("T0KEN")

    def _parts(self, lang: str) -> tuple[str, str, str]:
        texts = self._texts.get(lang)
        if texts is None:
            subject_line, body = _render(self.template, {"unsubscribe_url": _LINK_MARK}, lang)
            with translation.override(lang):
                footer = "\n-- \n" + _("To stop receiving these messages, open: %(url)s") % {
                    "url": _LINK_MARK
                }
            texts = self._texts[lang] = (subject_line, body, footer + "\n")
        return texts

    def link(self, subject_id: Any) -> str:
        """Return the person's unsubscribe link (a signed token: nothing personal in the URL)."""
        token = unsubscribe_token(subject_id=subject_id, purpose=self.purpose)
        if not _TOKEN_CHARS.fullmatch(token):
            return _absolute(reverse("messaging:unsubscribe", args=[token]))
        return token.join(self._link_parts)

    def message(
        self, *, subject_id: Any, to: str, lang: str, campaign: Campaign | None = None
    ) -> OutboxMessage:
        """Return the (unsaved) message to one person, with the visible link and the RFC 8058 headers."""
        link = self.link(subject_id)
        shown = str(conditional_escape(link))  # what the template would have printed
        subject_line, body, footer = self._parts(lang)
        return OutboxMessage(
            subject_id=subject_id,
            to=to,
            subject_line=subject_line.replace(_LINK_MARK, shown),
            body=body.replace(_LINK_MARK, shown) + footer.replace(_LINK_MARK, link),
            html="",
            template=self.template,
            kind=MessageKind.MARKETING,
            purpose=self.purpose,
            headers={
                "List-Unsubscribe": f"<{link}>, <mailto:{self.mailto}?subject=unsubscribe-{self.purpose}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            },
            campaign=campaign,
        )


def marketing_queue(
    *, subject_id: Any, to: str, template: str, purpose: str, lang: str, campaign: Campaign | None = None
) -> OutboxMessage:
    """Queue a marketing message with its visible unsubscribe link and the RFC 8058 headers."""
    message = _MarketingMail(template=template, purpose=purpose).message(
        subject_id=subject_id, to=to, lang=lang, campaign=campaign
    )
    return message_queue(
        subject_id=subject_id,
        to=to,
        subject_line=message.subject_line,
        body=message.body,
        template=message.template,
        kind=MessageKind.MARKETING,
        purpose=purpose,
        headers=message.headers,
        campaign=campaign,
    )


# --- Subscribers without an account (double opt-in) --------------------------------------------------


def _limit_consume(*, scope: str, value: str, limit: int, window: int = 3600) -> bool:
    """Count one request for ``value`` in ``scope``; return False once more than ``limit`` in ``window`` s.

    A fixed window in Django's cache, with ``add`` then ``incr`` so that it holds on any backend shared by
    every process (database, Redis). The key is a keyed hash: no address, mail or IP, in the cache.
    """
    key = "pacte:messaging:" + scope + ":" + salted_hmac(f"pacte.messaging.{scope}", value).hexdigest()[:40]
    cache.add(key, 0, timeout=window)
    try:
        count = cache.incr(key)
    except ValueError:  # the window ended between add and incr
        cache.add(key, 1, timeout=window)
        count = 1
    return count <= limit


def subscribe_request(
    *, email: str, purposes: list[str], lang: str = "fr", client: str = ""
) -> Subscriber | None:
    """Record a visitor's request and send the confirmation link; no consent until it is followed.

    Refused (``messaging.too_many``, 429) past ``subscribe_limit_per_client`` requests an hour from one
    client address or ``subscribe_limit_per_address`` for one address. While a confirmation sent less than
    ``subscribe_resend_delay`` seconds ago is pending, nothing changes and nothing is queued; the caller
    shows the same page either way, so the answer tells nobody whether the address was already known.
    Returns the subscriber, or None when nothing was recorded.
    """
    allowed = {pid for pid, _label in selectors.mail_purpose_list()}
    chosen = [p for p in purposes if p in allowed]
    if not chosen:
        raise PacteError(_("Choose at least one list."), error_codes.NO_PURPOSE)
    # Counted outside the transaction: a refused request still counts, and nothing here is rolled back.
    if (
        client
        and not _limit_consume(scope="client", value=client, limit=app_settings.subscribe_limit_per_client())
    ) or (
        not _limit_consume(
            scope="address", value=email_pseudonym(email), limit=app_settings.subscribe_limit_per_address()
        )
    ):
        raise PacteError(
            _(
                "Too many subscription requests: to protect the people whose addresses are typed here, "
                "we send only a few confirmation messages an hour. Please try again in an hour."
            ),
            error_codes.TOO_MANY,
            status=429,
        )
    return _subscribe_record(email=email.strip(), purposes=chosen, lang=lang)


@transaction.atomic
def _subscribe_record(*, email: str, purposes: list[str], lang: str) -> Subscriber | None:
    """Record the request and queue one confirmation, unless one younger than the re-send delay is pending."""
    key = email_pseudonym(email)
    now = timezone.now()
    subscriber = Subscriber.objects.select_for_update().filter(email_key=key).first()
    resend_after = datetime.timedelta(seconds=app_settings.subscribe_resend_delay())
    if (
        subscriber is not None
        and subscriber.confirm_sent_at
        and now - subscriber.confirm_sent_at < resend_after
    ):
        return subscriber  # a confirmation is on its way: one is enough
    try:
        with transaction.atomic():
            if subscriber is None:
                subscriber = Subscriber(subject=subject_create(kind="subscriber"), email=email, email_key=key)
            subscriber.purposes = sorted(set(subscriber.purposes) | set(purposes))
            subscriber.lang = lang
            subscriber.confirm_sent_at = now
            subscriber.full_clean(validate_unique=False)
            subscriber.save()
    except IntegrityError:  # the same address, from a concurrent request, just now: that one sends
        return None
    token = signing.dumps({"id": str(subscriber.pk)}, salt=CONFIRM_SALT)
    link = _absolute(reverse("messaging:confirm", args=[token]))
    subject_line, body = _render("email/subscribe_confirm", {"confirm_url": link}, lang)
    message_queue(
        subject_id=subscriber.subject_id,
        to=email,
        subject_line=subject_line,
        body=body,
        template="email/subscribe_confirm",
    )
    return subscriber


@transaction.atomic
def subscribe_confirm(*, token: str) -> Subscriber:
    """Follow the confirmation link: now, and only now, the consents are granted."""
    try:
        data = signing.loads(token, salt=CONFIRM_SALT, max_age=CONFIRM_DAYS * 86400)
    except signing.BadSignature:
        raise PacteError(
            _("This confirmation link is not valid or has expired."), error_codes.BAD_TOKEN, status=404
        ) from None
    subscriber = Subscriber.objects.select_for_update().filter(pk=data["id"]).first()
    if subscriber is None:
        raise PacteError(
            _("This confirmation link is not valid or has expired."), error_codes.BAD_TOKEN, status=404
        )
    if subscriber.confirmed_at is None:
        subscriber.confirmed_at = timezone.now()
        subscriber.save(update_fields=["confirmed_at"])
    for purpose in subscriber.purposes:
        consent_set(subject_id=subscriber.subject_id, purpose=purpose, granted=True, source="subscribe_form")
    return subscriber


# --- Campaigns ---------------------------------------------------------------------------------------


def campaign_send(
    *,
    template: str,
    purpose: str,
    started_by: str = "system",
    progress: Callable[[Campaign], None] | None = None,
    batch_size: int = 500,
) -> Campaign:
    """Queue ``template`` for every subject consenting to ``purpose``, re-checking each one's consent.

    ``template`` must be a key of ``CAMPAIGN_TEMPLATES`` (else ``messaging.unknown_template``). Works by
    chunks of ``batch_size`` people, each in one transaction: their consent is read again (a withdrawal
    during a long campaign counts), their messages are written in one insert, and one task
    (``outbox_send_batch``) sends the chunk over one relay connection.
    """
    if template not in CAMPAIGN_TEMPLATES:
        raise PacteError(
            _("There is no campaign template %(template)s. Choose one of: %(valid)s.")
            % {"template": repr(template), "valid": ", ".join(sorted(CAMPAIGN_TEMPLATES))},
            error_codes.UNKNOWN_TEMPLATE,
        )
    purpose_check(purpose)
    campaign = Campaign.objects.create(template=template, purpose=purpose, started_by=started_by)
    mail = _MarketingMail(template=template, purpose=purpose)
    ids = [str(sid) for sid in consent_subject_ids(purpose=purpose)]
    campaign.selected = len(ids)
    for start in range(0, len(ids), batch_size):
        chunk = ids[start : start + batch_size]
        with transaction.atomic():
            consenting = {
                str(sid) for sid in consent_subject_ids(purpose=purpose).filter(subject_id__in=chunk)
            }
            recipients = selectors.mail_recipients(subject_ids=[sid for sid in chunk if sid in consenting])
            messages = [
                mail.message(
                    subject_id=sid, to=recipients[sid][0], lang=recipients[sid][1], campaign=campaign
                )
                for sid in chunk
                if sid in recipients
            ]
            OutboxMessage.objects.bulk_create(messages)
            if messages:
                tasks.outbox_send_batch.enqueue([str(message.pk) for message in messages])
            campaign.queued += len(messages)
            campaign.skipped += len(chunk) - len(messages)
            campaign.save(update_fields=["selected", "queued", "skipped"])
        if progress is not None:
            progress(campaign)
    campaign.finished_at = timezone.now()
    campaign.save(update_fields=["finished_at", "selected", "queued", "skipped"])
    return campaign


def subscribers_purge_unconfirmed(*, days: int = CONFIRM_DAYS) -> int:
    """Delete the subscribers who never confirmed within the link's lifetime (and their subjects' mail)."""
    cutoff = timezone.now() - datetime.timedelta(days=days)
    deleted, _rows = Subscriber.objects.filter(confirmed_at__isnull=True, created_at__lt=cutoff).delete()
    return deleted


def messages_erase(subject: Any) -> int:
    """Erase a subject's outbox rows and every spooled mail file sent to them (the registered eraser).

    Runs before the subject's keys are destroyed, while their addresses can still be read: the files
    of the embedded default's spool are plaintext and would outlive the keys otherwise.
    """
    rows = OutboxMessage.objects.filter(subject=subject)
    addresses = {str(message.to) for message in rows.only("id", "subject_id", "to") if message.to}
    account = account_contact(subject_id=subject.pk)
    if account is not None:
        addresses.add(account.address or "")
    spool_purge(older_than_hours=app_settings.mail_spool_hours(), addresses=addresses)
    deleted, _ = rows.delete()
    return deleted
