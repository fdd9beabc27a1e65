from django.urls import path

from pacte.ledger import views

app_name = "ledger"

urlpatterns = [
    path(".well-known/pacte/ledger-key", views.ledger_key, name="key"),
    path(".well-known/pacte/ledger-key.jwk", views.ledger_key_jwk, name="key-jwk"),
]
