from django.db import migrations

# Lifecycle stages are data: name, order, whether the project's life is over, and a colour.
STAGES = [
    ("planning", "谋划", 1, False, "secondary"),
    ("signed", "签约", 2, False, "purple"),
    ("preparing", "前期", 3, False, "indigo"),
    ("started", "开工", 4, False, "blue"),
    ("under_construction", "在建", 5, False, "cyan"),
    ("completed", "竣工", 6, False, "teal"),
    ("in_production", "投产", 7, False, "green"),
    ("at_capacity", "达产达效", 8, True, "lime"),
]


def seed(apps, schema_editor):
    Stage = apps.get_model("projects", "Stage")
    for code, name, order, is_closed, color in STAGES:
        Stage.objects.update_or_create(
            code=code, defaults={"name": name, "order": order, "is_closed": is_closed, "color": color}
        )


def unseed(apps, schema_editor):
    apps.get_model("projects", "Stage").objects.filter(code__in=[s[0] for s in STAGES]).delete()


class Migration(migrations.Migration):
    dependencies = [("projects", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
