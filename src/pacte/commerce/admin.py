"""Staff manage the catalogue here (Django admin until the back office lands)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from pacte.commerce import services
from pacte.commerce.models import Product


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("slug", "name_fr", "name_en", "kind", "period", "price_cents", "vat_rate", "active")
    list_filter = ("active", "kind")
    search_fields = ("slug", "name_fr", "name_en")
    ordering = ("position", "slug")

    def save_model(self, request: HttpRequest, obj: Product, form: Any, change: bool) -> None:
        services.product_save(product=obj)
