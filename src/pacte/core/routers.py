"""Route each app's models to its database alias.

``default`` holds the business data, ``keys`` the key store (wrapped data keys, blind indexes, system
secrets) and ``telemetry`` the visit logs. An app lands in a non-default alias by being listed in
``APP_DATABASES``; nothing else ever migrates there.
"""

from __future__ import annotations

from typing import Any

APP_DATABASES: dict[str, str] = {
    "vault": "keys",
    "telemetry": "telemetry",
}


def database_for_app(app_label: str) -> str:
    """Return the database alias that holds ``app_label``'s tables."""
    return APP_DATABASES.get(app_label, "default")


class PacteRouter:
    """Send reads, writes and migrations of each app to its own alias."""

    def db_for_read(self, model: Any, **hints: Any) -> str:
        return database_for_app(model._meta.app_label)

    def db_for_write(self, model: Any, **hints: Any) -> str:
        return database_for_app(model._meta.app_label)

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        # A relation may never cross aliases: that is what keeps visits unjoinable to people and
        # keys out of data backups.
        return database_for_app(obj1._meta.app_label) == database_for_app(obj2._meta.app_label)

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints: Any) -> bool:
        return database_for_app(app_label) == db
