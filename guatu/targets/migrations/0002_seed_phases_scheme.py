"""Quarter phases from the seed speech and a default scoring scheme from common practice
(DESIGN.md, "Scoring schemes"): data the project office edits, not code."""

import datetime as dt

from django.db import migrations

PHASES = [
    (1, "开门红", "一季度要比开门红", ["started", "signed"], "首季开局：新开工、新签约", "red"),
    (2, "双过半", "二季度要比双过半", ["started_or_resumed", "plan_completion_rate", "at_capacity"],
     "上半年时间过半、任务过半：计划完成率不低于50%", "orange"),
    (3, "攻坚", "三季度要比攻坚", ["plan_completion_rate", "completed"], "攻坚克难：入库纳统与竣工", "yellow"),
    (4, "收官", "四季度要比收官", ["plan_completion_rate", "in_production", "completed"],
     "全年收官：完成年度目标", "green"),
]  # fmt: skip
# (order, metric, label, kind, weight, per, ratio_cap, cap)
ITEMS = [
    (1, "plan_completion_rate", "计划完成率", "weighted", 40, 0, "1.20", None),
    (2, "started", "新开工项目", "weighted", 25, 0, "1.20", None),
    (3, "signed", "新签约项目", "weighted", 15, 0, "1.20", None),
    (4, "start_rate", "开工率", "weighted", 20, 0, "1.00", None),
    (5, "not_started_on_time", "未按期开工", "deduction", 0, 3, None, 15),
]


def seed(apps, schema_editor):
    QuarterPhase = apps.get_model("targets", "QuarterPhase")
    ScoringScheme = apps.get_model("targets", "ScoringScheme")
    SchemeItem = apps.get_model("targets", "SchemeItem")
    for quarter, name, slogan, metrics, description, color in PHASES:
        QuarterPhase.objects.update_or_create(
            quarter=quarter,
            defaults={"name": name, "slogan": slogan, "headline_metrics": metrics, "description": description,
                      "color": color},
        )  # fmt: skip
    year = dt.date.today().year
    scheme, created = ScoringScheme.objects.get_or_create(
        year=year, group="county", version=1,
        defaults={"name": "县(市)区项目建设考核", "ranking_bonuses": [7, 5, 3],
                  "note": "计划完成率40、新开工25、新签约15、开工率20；未按期开工每个扣3分、最多扣15分；前三名加7、5、3分"},
    )  # fmt: skip
    if created:
        for order, metric, label, kind, weight, per, ratio_cap, cap in ITEMS:
            SchemeItem.objects.create(
                scheme=scheme, order=order, metric=metric, label=label, kind=kind, weight=weight, per=per,
                ratio_cap=ratio_cap, cap=cap,
            )  # fmt: skip


class Migration(migrations.Migration):
    dependencies = [("targets", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
