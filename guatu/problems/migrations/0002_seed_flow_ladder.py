"""The problem flow and the escalation ladder, as data the project office may edit.
The 8 steps seen in 宜昌 (督查事项 → 领导审核 → 下发 → 签收 → 办理 → 反馈 → 复核 → 办结) map onto
reported → assigned → accepted → in progress → resolved → closed."""

from django.db import migrations

STATUSES = [
    ("reported", "已上报", 1, False, "secondary"),
    ("assigned", "已交办", 2, False, "blue"),
    ("accepted", "已签收", 3, False, "cyan"),
    ("in_progress", "办理中", 4, False, "orange"),
    ("resolved", "已反馈", 5, False, "purple"),
    ("closed", "已销号", 6, True, "green"),
]
# action, name, from, to, actors, needs_reason
TRANSITIONS = [
    ("assign", "交办", "reported", "assigned", ["governor"], False),
    ("accept", "签收", "assigned", "accepted", ["owner"], False),
    ("start", "开始办理", "accepted", "in_progress", ["owner"], False),
    ("resolve", "反馈办结", "in_progress", "resolved", ["owner"], True),
    ("resolve", "反馈办结", "accepted", "resolved", ["owner"], True),
    ("verify", "复核销号", "resolved", "closed", ["governor", "leader"], False),
    ("send_back", "复核退回", "resolved", "in_progress", ["governor", "leader"], True),
    ("reopen", "重新打开", "closed", "in_progress", ["governor", "leader"], True),
]
LEVELS = [
    ("county", "县(市)区协调", 1, 7, "blue"),
    ("department", "市直部门协调", 2, 7, "orange"),
    ("direct_line", "书记市长直通车", 3, 0, "red"),
]


def seed(apps, schema_editor):
    Status = apps.get_model("problems", "ProblemStatus")
    Transition = apps.get_model("problems", "ProblemTransition")
    Level = apps.get_model("problems", "EscalationLevel")
    statuses = {}
    for code, name, order, is_closed, color in STATUSES:
        statuses[code], _ = Status.objects.update_or_create(
            code=code, defaults={"name": name, "order": order, "is_closed": is_closed, "color": color}
        )
    for action, name, source, target, actors, needs_reason in TRANSITIONS:
        Transition.objects.update_or_create(
            action=action, from_status=statuses[source],
            defaults={"name": name, "to_status": statuses[target], "actors": actors, "needs_reason": needs_reason},
        )  # fmt: skip
    for code, name, order, days, color in LEVELS:
        Level.objects.update_or_create(
            code=code, defaults={"name": name, "order": order, "climb_after_days": days, "color": color}
        )


class Migration(migrations.Migration):
    dependencies = [("problems", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
