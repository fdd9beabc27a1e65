"""Create the shared cache table (rate limits, lockouts) wherever the default database is migrated.

The table is Django's database cache (``createcachetable``): every web process, worker and machine
reads the same counters, so a limit of ten guesses means ten, whatever the number of processes.
"""

from django.core.management import call_command
from django.db import migrations


def create_cache_table(apps, schema_editor):  # type: ignore[no-untyped-def]
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies: list[tuple[str, str]] = []
    operations = [migrations.RunPython(create_cache_table, migrations.RunPython.noop)]
