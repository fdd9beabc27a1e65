"""The portal's "Download my data" and "Delete my account"."""

from __future__ import annotations

from django import forms
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from pacte.core.errors import PacteError
from pacte.rights import services
from pacte.rights.models import Channel, IdentityCheck, Kind, RightsRequest, Status


def _lang() -> str:
    return (get_language() or "fr")[:2]


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def my_data(request: HttpRequest) -> HttpResponse:
    """Ask for a copy of one's data; follow the build; download it for 7 days."""
    subject = request.user.subject  # type: ignore[union-attr]
    latest = RightsRequest.objects.filter(subject=subject, kind=Kind.ACCESS).order_by("-received_at").first()
    if request.method == "POST":
        from pacte.rights.tasks import export_build_task

        latest = services.request_create(
            subject=subject,
            kind=Kind.ACCESS,
            channel=Channel.PORTAL,
            identity_check=IdentityCheck.SIGNED_IN,
            lang=_lang(),
        )
        request_id = str(latest.pk)
        transaction.on_commit(lambda: export_build_task.enqueue(request_id))
        return redirect("rights:my_data")
    building = latest is not None and latest.status in (Status.RECEIVED, Status.IN_PROGRESS)
    return render(request, "rights/my_data.html", {"latest": latest, "building": building})


@login_required
@require_http_methods(["GET", "HEAD"])
def my_data_download(request: HttpRequest, request_id: str) -> StreamingHttpResponse:
    """Send the ZIP to the signed-in person it belongs to, never to anyone else.

    The file is stored encrypted; it is decrypted as it is sent, a chunk at a time.
    """
    subject = request.user.subject  # type: ignore[union-attr]
    rights_request = get_object_or_404(RightsRequest, pk=request_id, subject=subject, kind=Kind.ACCESS)
    size, chunks = services.export_open(request=rights_request)
    response = StreamingHttpResponse(chunks, content_type="application/zip")
    response["Content-Length"] = str(size)
    response["Content-Disposition"] = 'attachment; filename="my-data.zip"'
    response["Cache-Control"] = "no-store"
    return response


class DeleteForm(forms.Form):
    password = forms.CharField(label=_("Your current password"), widget=forms.PasswordInput)
    word = forms.CharField(label=_("Type DELETE to confirm"), max_length=20)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def delete_account(request: HttpRequest) -> HttpResponse:
    """Delete the account: password and a typed word, then a resumable erasure task."""
    form = DeleteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            erasure = services.erasure_request(
                user=request.user,
                password=form.cleaned_data["password"],
                word=form.cleaned_data["word"],
                lang=_lang(),
            )
        except PacteError as error:
            field = "password" if error.code.endswith("password") else "word"
            form.add_error(field, str(error.message))
        else:
            from pacte.rights.tasks import erasure_run_task

            request_id = str(erasure.pk)
            transaction.on_commit(lambda: erasure_run_task.enqueue(request_id))
            logout(request)
            return render(request, "rights/deleted.html")
    return render(request, "rights/delete.html", {"form": form})
