"""Policy versions: every distinct content of the policy file the system has obeyed."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class PolicyVersion(models.Model):
    number = models.PositiveIntegerField(unique=True)
    sha256 = models.CharField(max_length=64, unique=True)
    content = models.TextField()
    source = models.CharField(max_length=500)
    loaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-number"]
        verbose_name = _("policy version")
        verbose_name_plural = _("policy versions")

    def __str__(self) -> str:
        return f"v{self.number} ({self.sha256[:12]})"
