# The API's shared cache table (settings.CACHES["shared"]: api/images/walks.py, api/images/kept.py).

from django.core.management import call_command
from django.db import migrations


def create_cache_tables(apps, schema_editor):
    """Making it here means `migrate` is all a deployment runs (as 0007 for rate limits)."""
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


def drop_shared_table(apps, schema_editor):
    schema_editor.execute("DROP TABLE IF EXISTS tutumweb_shared")


class Migration(migrations.Migration):
    dependencies = [
        ("api", "0021_counted_changes"),
    ]

    operations = [migrations.RunPython(create_cache_tables, drop_shared_table)]
