from django.db import migrations

STAGES = [
    ("clue", "线索", 1, "secondary"),
    ("negotiating", "洽谈", 2, "blue"),
    ("framework", "框架协议", 3, "cyan"),
    ("signed", "正式签约", 4, "purple"),
    ("registered", "注册落户", 5, "orange"),
    ("started", "开工", 6, "yellow"),
    ("in_production", "投产", 7, "green"),
]


def seed(apps, schema_editor):
    LeadStage = apps.get_model("attraction", "LeadStage")
    for code, name, order, color in STAGES:
        LeadStage.objects.update_or_create(code=code, defaults={"name": name, "order": order, "color": color})


class Migration(migrations.Migration):
    dependencies = [("attraction", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
