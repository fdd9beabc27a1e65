"""The Python-written widgets give exactly what Django's widget templates give."""

from __future__ import annotations

import datetime

import pytest
from django import forms
from django.forms.renderers import DjangoTemplates
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy, override
from hypothesis import given, settings
from hypothesis import strategies as st

from pacte.core.renderers import FormRenderer

TEMPLATES = DjangoTemplates()
FAST = FormRenderer()

text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
attr_value = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    text,
    text.map(mark_safe),
    st.decimals(allow_nan=False, allow_infinity=False, places=2),
)
attr_name = st.from_regex(r"[a-z][a-z0-9-]{0,8}", fullmatch=True)
attrs = st.dictionaries(attr_name, attr_value, max_size=4)
choice_value = st.one_of(text, st.integers(0, 10**4))
choices = st.lists(st.tuples(choice_value, text), max_size=5)
grouped = st.lists(st.tuples(text.filter(bool), choices), max_size=3)

WIDGETS = [
    forms.TextInput,
    forms.EmailInput,
    forms.PasswordInput,
    forms.HiddenInput,
    forms.NumberInput,
    forms.URLInput,
    forms.SearchInput,
    forms.TelInput,
    forms.ColorInput,
    forms.DateInput,
    forms.TimeInput,
    forms.DateTimeInput,
    forms.Textarea,
]


def both(widget: forms.Widget, name: str, value: object, attrs: dict | None = None) -> tuple[str, str]:
    return (
        widget.render(name, value, attrs=attrs, renderer=TEMPLATES),
        widget.render(name, value, attrs=attrs, renderer=FAST),
    )


@pytest.mark.parametrize("widget_class", WIDGETS)
@settings(max_examples=60, deadline=None)
@given(name=text, value=st.one_of(st.none(), text, text.map(mark_safe), st.integers()), extra=attrs)
def test_inputs_and_textareas_match_django_templates(widget_class, name, value, extra):
    expected, fast = both(widget_class(attrs=extra), name, value)
    assert fast == expected


@settings(max_examples=80, deadline=None)
@given(name=text, flat=choices, groups=grouped, extra=attrs, picked=choice_value)
def test_selects_match_django_templates(name, flat, groups, extra, picked):
    for widget in (forms.Select(choices=flat, attrs=extra), forms.Select(choices=[*flat, *groups])):
        expected, fast = both(widget, name, picked)
        assert fast == expected
    multiple = forms.SelectMultiple(choices=flat, attrs=extra)
    expected, fast = both(multiple, name, [picked])
    assert fast == expected


@settings(max_examples=40, deadline=None)
@given(checked=st.one_of(st.none(), st.booleans(), text), extra=attrs)
def test_checkboxes_match_django_templates(checked, extra):
    expected, fast = both(forms.CheckboxInput(attrs=extra), "agree", checked)
    assert fast == expected


def test_dates_lazy_labels_and_french_numbers_match():
    with override("fr"):
        cases = [
            (forms.DateInput(), datetime.date(2026, 12, 1)),
            (forms.DateTimeInput(), datetime.datetime(2026, 12, 1, 8, 30)),
            (forms.NumberInput(attrs={"step": 0.5}), 1234.5),
            (forms.Select(choices=[(1, gettext_lazy("Yes")), (2, 12345)]), 2),
            (forms.Textarea(), "<b>a & b</b>"),
            (forms.Textarea(), ""),
        ]
        for widget, value in cases:
            expected, fast = both(widget, "field", value)
            assert fast == expected


def test_other_widgets_fall_back_to_django_templates():
    radios = forms.RadioSelect(choices=[("a", "A"), ("b", "B")])
    expected, fast = both(radios, "pick", "a")
    assert fast == expected
    assert 'type="radio"' in fast


def test_bound_fields_render_the_same_in_a_real_form():
    class Profile(forms.Form):
        name = forms.CharField(max_length=5, help_text="<i>help</i>")
        phone = forms.CharField(required=False, widget=forms.TelInput)
        language = forms.ChoiceField(choices=[("fr", "Français"), ("en", "English")])
        notes = forms.CharField(widget=forms.Textarea, required=False)

    fast_form = Profile(data={"name": 'O"Brien <x>', "language": "en"}, renderer=FAST)
    plain_form = Profile(data={"name": 'O"Brien <x>', "language": "en"}, renderer=TEMPLATES)
    assert not fast_form.is_valid() and not plain_form.is_valid()  # errors shown too
    assert [str(f) for f in fast_form] == [str(f) for f in plain_form]
    assert str(fast_form) == str(plain_form)
    assert 'value="O&quot;Brien &lt;x&gt;"' in str(fast_form["name"])
