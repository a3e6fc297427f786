from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("projects", "0005_signed_on"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="project",
            index=models.Index(
                fields=["-id"],
                include=("region", "stage", "chain", "kind", "total_investment"),
                name="project_list_keys_idx",
            ),
        ),
    ]
