"""The trigram index that serves substring search by image name.

Its SQL lives in records/name_search.py, next to the search that reads it and the repair
that re-creates the SQLite triggers after a later migration rebuilds `api_image`: one copy.
"""

from django.db import migrations

from records import name_search


class Migration(migrations.Migration):
    dependencies = [
        ("api", "0016_image_reach"),
    ]

    operations = [
        migrations.RunPython(name_search.create, name_search.drop),
    ]
