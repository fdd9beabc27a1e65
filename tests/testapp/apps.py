from django.apps import AppConfig


class TestAppConfig(AppConfig):
    name = "tests.testapp"
    label = "testapp"
    verbose_name = "Pacte test models"

    def ready(self) -> None:
        from pacte.subjects.registry import register
        from tests.testapp import models

        register(models.Person, kind="people")
        # Invoices are under a legal hold: erasure keeps the row, readable under its own class key.
        register(models.Invoice, eraser=lambda subject: 0, kind="invoices")
        register(models.TenSecrets, kind="ten_secrets")
        register(models.TenPlain, kind="ten_plain")
