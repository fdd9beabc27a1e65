"""Form fields shared by every app's forms."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# C0 controls (but tab, newline and carriage return), DEL and the C1 controls: they move a terminal's
# cursor, change its colours or hide text when a name is printed in a log, a CSV or a staff console.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_LINE_BREAK = re.compile(r"[\t\r\n]")


def refuse_control_characters(value: str, *, multiline: bool = False) -> None:
    """Raise ValidationError if ``value`` holds a control character (line breaks only where ``multiline``)."""
    if _CONTROL.search(value) or (not multiline and _LINE_BREAK.search(value)):
        raise ValidationError(
            _("This field contains an invisible control character; please type it again without it."),
            code="control_character",
        )


class TextField(forms.CharField):
    """A CharField that refuses terminal control characters (and line breaks unless ``multiline``)."""

    def __init__(self, *args: Any, multiline: bool = False, **kwargs: Any) -> None:
        self.multiline = multiline
        super().__init__(*args, **kwargs)

    def validate(self, value: Any) -> None:
        super().validate(value)
        if value:
            refuse_control_characters(value, multiline=self.multiline)
