"""Tag.image loses its own index: unique_tag_per_image (image, name) serves every lookup by
image and its order (see the model). A plain DROP INDEX: the field's change would make SQLite
copy the whole tag table (and drop its triggers) for nothing else."""

import django.db.models.deletion
from django.db import migrations, models

# Django's name for the foreign key's index, the same on SQLite and PostgreSQL.
INDEX = "api_tag_image_id_d98d1c71"


class Migration(migrations.Migration):
    dependencies = [
        ("api", "0019_tag_count"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="tag",
                    name="image",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="tags",
                        to="api.image",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    f'DROP INDEX IF EXISTS "{INDEX}"',
                    reverse_sql=f'CREATE INDEX "{INDEX}" ON "api_tag" ("image_id")',
                ),
            ],
        ),
    ]
