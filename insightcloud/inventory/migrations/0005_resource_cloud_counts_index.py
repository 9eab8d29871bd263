"""Per-cloud counts by type and region (the dashboard) read one index: the cloud's live resources
by type and region. res_cloud_live_type stays: MariaDB's plan for counts per cloud needs it."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("inventory", "0004_resource_has_open_findings"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="resource",
            index=models.Index(
                fields=["cloud", "deleted_at", "resource_type", "region"], name="res_cloud_live_type_region"
            ),
        ),
    ]
