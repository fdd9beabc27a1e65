"""Forms of the sign-up and of "My account". Every label and message in French and English."""

from __future__ import annotations

from typing import Any

from allauth.account.forms import LoginForm as AllauthLoginForm
from allauth.account.forms import ResetPasswordForm as AllauthResetPasswordForm
from allauth.account.forms import SignupForm as AllauthSignupForm
from django import forms
from django.utils.translation import gettext_lazy as _

from pacte.accounts.models import AccountKind, Language
from pacte.accounts.services import age_check, email_pseudonym
from pacte.consent.selectors import subject_purpose_list
from pacte.core.errors import PacteError
from pacte.core.forms import TextField
from pacte.core.i18n import current_language
from pacte.policy.selectors import policy_active
from pacte.vault.fields import normalise_phone


def language_choices() -> list[tuple[str, str]]:
    """Return the languages the policy offers, each named in its own language."""
    names = dict(Language.choices)
    return [(code, names[code]) for code in policy_active().languages if code in names]


class DateInput(forms.DateInput):
    input_type = "date"


def _clean_phone(value: str) -> str:
    if not value:
        return ""
    try:
        normalise_phone(value)
    except ValueError:
        raise forms.ValidationError(_("Enter a phone number, e.g. +33 6 12 34 56 78.")) from None
    return value.strip()


class SignupForm(AllauthSignupForm):
    account_kind = forms.ChoiceField(
        label=_("I am registering"),
        choices=AccountKind.choices,
        widget=forms.RadioSelect,
        initial=AccountKind.INDIVIDUAL,
    )
    name = TextField(label=_("Full name"), max_length=200)
    birth_date = forms.DateField(label=_("Date of birth"), widget=DateInput)
    phone = TextField(label=_("Phone (optional)"), max_length=30, required=False)
    address_line = TextField(label=_("Street and number"), max_length=200, required=False)
    postcode = TextField(label=_("Postcode"), max_length=20, required=False)
    city = TextField(label=_("City"), max_length=100, required=False)
    country = TextField(label=_("Country code"), max_length=2, initial="FR", required=False)
    org_legal_name = TextField(label=_("Employer's legal name"), max_length=200, required=False)
    org_registration_number = TextField(
        label=_("Registration number (optional)"), max_length=50, required=False
    )
    org_address_line = TextField(label=_("Employer's street and number"), max_length=200, required=False)
    org_postcode = TextField(label=_("Employer's postcode"), max_length=20, required=False)
    org_city = TextField(label=_("Employer's city"), max_length=100, required=False)
    authority = forms.BooleanField(
        label=_("I have the authority to bind my employer to the terms of use"), required=False
    )
    terms = forms.BooleanField(label=_("I accept the terms of use and have read the privacy notice"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)

        # One unticked, optional box per purpose of the policy that needs the person's consent.
        for pid, label in subject_purpose_list(lang=current_language()):
            self.fields[f"consent_{pid}"] = forms.BooleanField(
                label=_("%(purpose)s (optional)") % {"purpose": label}, required=False
            )

    def consent_fields(self) -> list[Any]:
        return [self[name] for name in self.fields if name.startswith("consent_")]

    def consents_granted(self) -> list[str]:
        return [
            name.removeprefix("consent_")
            for name, value in self.cleaned_data.items()
            if name.startswith("consent_") and value
        ]

    def clean_email(self) -> str:
        self.real_email = self.data.get("email", "").strip()
        return super().clean_email()

    def clean_phone(self) -> str:
        return _clean_phone(self.cleaned_data.get("phone", ""))

    def clean(self) -> dict:
        data = super().clean()
        if "birth_date" in data:
            try:
                age_check(birth_date=data["birth_date"])
            except PacteError as error:
                self.add_error("birth_date", str(error.message))
        if data.get("account_kind") == AccountKind.EMPLOYER:
            if not data.get("org_legal_name"):
                self.add_error("org_legal_name", _("Enter your employer's legal name."))
            if not data.get("authority"):
                self.add_error(
                    "authority", _("Tick this box to confirm you may bind your employer to the terms of use.")
                )
        return data

    def postal_address(self) -> dict | None:
        data = self.cleaned_data
        if not data.get("address_line"):
            return None
        return {
            "lines": [data["address_line"]],
            "postcode": data.get("postcode", ""),
            "city": data.get("city", ""),
            "country": (data.get("country") or "FR").upper(),
        }

    def organisation(self) -> dict | None:
        data = self.cleaned_data
        if data.get("account_kind") != AccountKind.EMPLOYER:
            return None
        address = None
        if data.get("org_address_line"):
            address = {
                "lines": [data["org_address_line"]],
                "postcode": data.get("org_postcode", ""),
                "city": data.get("org_city", ""),
                "country": "FR",
            }
        return {
            "legal_name": data["org_legal_name"],
            "registration_number": data.get("org_registration_number", ""),
            "postal_address": address,
            "authority": bool(data.get("authority")),
        }


class LoginForm(AllauthLoginForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Pacte's forms show labels, not placeholders; and say what "remember" does.
        for field in self.fields.values():
            field.widget.attrs.pop("placeholder", None)
        if "remember" in self.fields:
            self.fields["remember"].label = _("Keep me signed in")

    def clean_login(self) -> str:
        login = super().clean_login()
        return email_pseudonym(login) if "@" in login else login


class ResetPasswordForm(AllauthResetPasswordForm):
    pass  # allauth's form already passes the address through the adapter's clean_email


class ProfileForm(forms.Form):
    name = TextField(label=_("Full name"), max_length=200)
    phone = TextField(label=_("Phone"), max_length=30, required=False)
    address_line = TextField(label=_("Street and number"), max_length=200, required=False)
    postcode = TextField(label=_("Postcode"), max_length=20, required=False)
    city = TextField(label=_("City"), max_length=100, required=False)
    country = TextField(label=_("Country code"), max_length=2, required=False)
    # Left out of a submitted form, the language stays as it is.
    language = forms.ChoiceField(label=_("Language of our e-mails"), choices=(), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["language"].choices = language_choices()  # type: ignore[attr-defined]

    def clean_phone(self) -> str:
        return _clean_phone(self.cleaned_data.get("phone", ""))

    def changes(self) -> dict[str, Any]:
        data = self.cleaned_data
        address = None
        if data.get("address_line"):
            address = {
                "lines": [data["address_line"]],
                "postcode": data.get("postcode", ""),
                "city": data.get("city", ""),
                "country": (data.get("country") or "FR").upper(),
            }
        changes = {"name": data["name"], "phone": data.get("phone", ""), "postal_address": address}
        if data.get("language"):
            changes["language"] = data["language"]
        return changes


class DeactivateForm(forms.Form):
    password = forms.CharField(label=_("Your current password"), widget=forms.PasswordInput)


class OrganisationForm(forms.Form):
    legal_name = TextField(label=_("Employer's legal name"), max_length=200)
    registration_number = TextField(label=_("Registration number (optional)"), max_length=50, required=False)
    address_line = TextField(label=_("Employer's street and number"), max_length=200, required=False)
    postcode = TextField(label=_("Employer's postcode"), max_length=20, required=False)
    city = TextField(label=_("Employer's city"), max_length=100, required=False)
    country = TextField(label=_("Country code"), max_length=2, required=False)

    def changes(self) -> dict[str, Any]:
        data = self.cleaned_data
        address = None
        if data.get("address_line"):
            address = {
                "lines": [data["address_line"]],
                "postcode": data.get("postcode", ""),
                "city": data.get("city", ""),
                "country": (data.get("country") or "FR").upper(),
            }
        return {
            "legal_name": data["legal_name"],
            "registration_number": data.get("registration_number", ""),
            "postal_address": address,
        }
