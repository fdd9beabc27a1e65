from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CommerceConfig(AppConfig):
    name = "pacte.commerce"
    label = "commerce"
    verbose_name = _("Shop")
