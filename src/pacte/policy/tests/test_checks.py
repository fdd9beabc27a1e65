"""The code ↔ policy check: personal fields must carry a category the policy declares."""

from __future__ import annotations

from django.db import models
from django.test.utils import isolate_apps

from pacte.policy.checks import check_fields_against_policy, policy_checks
from pacte.policy.registry import only_under


class _Categorised(models.CharField):
    def __init__(self, *args, category: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.pacte_category = category


@isolate_apps("tests.testapp")
def test_a_plain_email_field_without_category_fails_the_check() -> None:
    class Leaky(models.Model):
        email = models.EmailField()
        status = models.CharField(max_length=10)

        class Meta:
            app_label = "testapp"

    errors = check_fields_against_policy([Leaky], categories={"contact.email"})
    assert [(e.id, e.obj.name) for e in errors] == [("pacte.E001", "email")]


@isolate_apps("tests.testapp")
def test_a_category_the_policy_does_not_declare_fails_the_check() -> None:
    class Undeclared(models.Model):
        fax = _Categorised(max_length=20, category="contact.fax")
        name = _Categorised(max_length=20, category="identity.name")

        class Meta:
            app_label = "testapp"

    errors = check_fields_against_policy([Undeclared], categories={"identity.name"})
    assert [(e.id, e.obj.name) for e in errors] == [("pacte.E002", "fax")]
    assert "contact.fax" in errors[0].msg


@isolate_apps("tests.testapp")
def test_a_field_may_say_it_is_not_personal() -> None:
    class Fine(models.Model):
        name = models.CharField(max_length=20)

        class Meta:
            app_label = "testapp"

    Fine._meta.get_field("name").pacte_personal = False
    assert check_fields_against_policy([Fine], categories=set()) == []


def test_the_real_models_pass_the_check() -> None:
    assert policy_checks() == []


def test_an_invalid_active_policy_is_a_start_up_error(settings, tmp_path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[operator\n")
    settings.PACTE_POLICY_FILE = str(bad)
    errors = policy_checks()
    assert [e.id for e in errors] == ["pacte.E003"]
    assert f"{bad}:1:" in errors[0].msg


@isolate_apps("tests.testapp")
def test_a_field_written_only_under_a_purpose_the_policy_lacks_is_not_checked() -> None:

    class Feature(models.Model):
        words = only_under("testimonials", _Categorised(max_length=20, category="marketing.testimonial"))

        class Meta:
            app_label = "testapp"

    without = check_fields_against_policy([Feature], categories={"identity.name"}, purposes={"billing"})
    with_purpose = check_fields_against_policy(
        [Feature], categories={"identity.name"}, purposes={"testimonials"}
    )
    assert without == []
    assert [(e.id, e.obj.name) for e in with_purpose] == [("pacte.E002", "words")]
