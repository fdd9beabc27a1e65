"""The portal's "Download my data" and "Delete my account"."""

from __future__ import annotations

from django import forms
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from pacte.core.errors import PacteError
from pacte.core.i18n import current_language
from pacte.rights import error_codes, exports, selectors
from pacte.rights.flows import erasure, export
from pacte.rights.models import Kind, Status


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def my_data(request: HttpRequest) -> HttpResponse:
    """Ask for a copy of one's data; follow the build; download it for 7 days."""
    subject = request.user.subject  # type: ignore[union-attr]
    if request.method == "POST":
        export.export_request(subject=subject, lang=current_language())
        return redirect("rights:my_data")
    latest = selectors.request_latest(subject=subject, kind=Kind.ACCESS)
    building = latest is not None and latest.status in (Status.RECEIVED, Status.IN_PROGRESS)
    return render(request, "rights/my_data.html", {"latest": latest, "building": building})


@login_required
@require_http_methods(["GET", "HEAD"])
def my_data_download(request: HttpRequest, request_id: str) -> StreamingHttpResponse:
    """Send the ZIP to the signed-in person it belongs to, never to anyone else.

    The file is stored encrypted; it is decrypted as it is sent, a chunk at a time.
    """
    subject = request.user.subject  # type: ignore[union-attr]
    rights_request = selectors.request_get(subject=subject, request_id=request_id, kind=Kind.ACCESS)
    if rights_request is None:
        raise Http404("No such download.")
    size, chunks = exports.export_open(request=rights_request)
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
            erasure.erasure_request(
                user=request.user,
                password=form.cleaned_data["password"],
                word=form.cleaned_data["word"],
                lang=current_language(),
            )
        except PacteError as error:
            field = "password" if error.code == error_codes.WRONG_PASSWORD else "word"
            form.add_error(field, str(error.message))
        else:
            logout(request)
            return render(request, "rights/deleted.html")
    return render(request, "rights/delete.html", {"form": form})
