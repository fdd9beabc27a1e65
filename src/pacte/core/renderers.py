"""Form widgets written in Python: the same HTML as Django's widget templates, without the template engine.

Every page with a form renders each widget through ``django/forms/widgets/*.html``: an ``<input>`` is two
templates (the input and its attributes), a ``<select>`` one more per option. On the account page that was
about a quarter of the request (issue 14). :class:`FormRenderer` writes the common widgets (inputs,
textareas, selects) directly, byte for byte what the templates give (``core/tests/test_renderers.py``
compares them over Hypothesis-generated widgets), and leaves every other template to Django's renderer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from django.forms.renderers import DjangoTemplates
from django.utils.formats import localize
from django.utils.html import conditional_escape, escape
from django.utils.safestring import SafeData, mark_safe

_OPTION = "django/forms/widgets/select_option.html"


def _formatted(value: Any) -> str:
    """``{{ value|stringformat:'s' }}``: ``%s``-formatted, escaped unless the value was already safe."""
    text = "%s" % (value,)  # noqa: UP031 (the filter's own formatting, tuples included)
    return text if isinstance(value, SafeData) else escape(text)


def _shown(value: Any) -> str:
    """``{{ value }}``: localised, then escaped unless safe (what ``render_value_in_context`` does)."""
    return conditional_escape(localize(value))


def _attrs(attrs: Mapping[str, Any]) -> str:
    """``django/forms/widgets/attrs.html``."""
    out = []
    for name, value in attrs.items():
        if value is False:
            continue
        out.append(" " + _shown(name) if value is True else f' {_shown(name)}="{_formatted(value)}"')
    return "".join(out)


def _input(widget: Mapping[str, Any]) -> str:
    value = widget["value"]
    shown = "" if value is None else f' value="{_formatted(value)}"'
    return f'<input type="{_shown(widget["type"])}" name="{_shown(widget["name"])}"{shown}{_attrs(widget["attrs"])}>'


def _textarea(widget: Mapping[str, Any]) -> str:
    value = widget["value"]
    return f'<textarea name="{_shown(widget["name"])}"{_attrs(widget["attrs"])}>\n{_shown(value) if value else ""}</textarea>'


def _option(option: Mapping[str, Any]) -> str:
    return f'<option value="{_formatted(option["value"])}"{_attrs(option["attrs"])}>{_shown(option["label"])}</option>'


def _select(widget: Mapping[str, Any]) -> str | None:
    out = [f'<select name="{_shown(widget["name"])}"{_attrs(widget["attrs"])}>']
    groups: Iterable[tuple[Any, list[Mapping[str, Any]], int]] = widget["optgroups"]
    for group_name, group_choices, _index in groups:
        if group_name:
            out.append(f'\n  <optgroup label="{_shown(group_name)}">')
        for option in group_choices:
            if option.get("template_name") != _OPTION:
                return None  # a custom option template: let Django render the whole select
            out.append("\n  " + _option(option) + "\n")  # the option template ends with a new line
        if group_name:
            out.append("\n  </optgroup>")
    out.append("\n</select>")
    return "".join(out)


_INPUTS = (
    "checkbox",
    "color",
    "date",
    "datetime",
    "email",
    "file",
    "hidden",
    "input",
    "number",
    "password",
    "search",
    "tel",
    "text",
    "time",
    "url",
)
_WRITERS: dict[str, Callable[[Mapping[str, Any]], str | None]] = {
    **{f"django/forms/widgets/{name}.html": _input for name in _INPUTS},
    "django/forms/widgets/textarea.html": _textarea,
    "django/forms/widgets/select.html": _select,
}


class FormRenderer(DjangoTemplates):
    """Django's template renderer, with the common widgets written directly (settings.FORM_RENDERER)."""

    def render(self, template_name: str, context: dict[str, Any], request: Any = None) -> str:
        writer = _WRITERS.get(template_name)
        widget = context.get("widget") if writer is not None else None
        if writer is not None and isinstance(widget, Mapping):
            html = writer(widget)
            if html is not None:
                return mark_safe(html.strip())  # noqa: S308 (every value above went through escape)
        return super().render(template_name, context, request)
