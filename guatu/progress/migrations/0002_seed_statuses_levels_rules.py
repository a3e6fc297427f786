from django.db import migrations

STATUSES = [
    ("draft", "草稿", 1, False, "secondary"),
    ("submitted", "已报送", 2, False, "blue"),
    ("returned", "已退回", 3, False, "orange"),
    ("approved", "已审核", 4, True, "green"),
]
LEVELS = [("green", "绿灯", 1, "green"), ("yellow", "黄灯", 2, "yellow"), ("red", "红灯", 3, "red")]
# Thresholds from public practice (银川, 瓯海; see DESIGN.md), editable by the project office.
RULES = [
    ("start", "开工预警", "计划本月开工而未开工为黄灯，超过3个月仍未开工为红灯",
     {"red_after_months": 3}, 1),
    ("progress", "进度预警", "形象进度落后序时进度10至30个百分点为黄灯，超过30个百分点为红灯",
     {"yellow_points": 10, "red_points": 30}, 2),
    ("report", "月报预警", "缺报或迟报1个月为黄灯，2个月及以上为红灯；月报于次月规定日前报送",
     {"yellow_missing": 1, "red_missing": 2, "due_day": 5}, 3),
    ("deadline", "节点预警", "前期手续或建设节点超过最迟完成日期为黄灯，超期达到规定天数为红灯",
     {"red_after_days": 30}, 4),
    ("recovery", "销号恢复", "红灯项目追回差距后先降为黄灯，保持一个周期后转绿",
     {"hold_days": 30}, 5),
]


def seed(apps, schema_editor):
    ReportStatus = apps.get_model("progress", "ReportStatus")
    for code, name, order, closed, color in STATUSES:
        ReportStatus.objects.update_or_create(
            code=code, defaults={"name": name, "order": order, "is_closed": closed, "color": color}
        )
    WarningLevel = apps.get_model("progress", "WarningLevel")
    for code, name, order, color in LEVELS:
        WarningLevel.objects.update_or_create(code=code, defaults={"name": name, "order": order, "color": color})
    WarningRule = apps.get_model("progress", "WarningRule")
    for code, name, description, params, order in RULES:
        WarningRule.objects.update_or_create(
            code=code, defaults={"name": name, "description": description, "params": params, "order": order}
        )


def unseed(apps, schema_editor):
    apps.get_model("progress", "ReportStatus").objects.all().delete()
    apps.get_model("progress", "WarningLevel").objects.all().delete()
    apps.get_model("progress", "WarningRule").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("progress", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
