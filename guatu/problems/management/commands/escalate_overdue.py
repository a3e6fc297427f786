import datetime as dt
from collections import Counter

from django.core.management.base import BaseCommand, CommandError

from guatu.problems.models import EscalationLevel
from guatu.problems.services import escalate_overdue


class Command(BaseCommand):
    help = (
        "逾期超过本层级规定天数仍未销号的问题自动上升一级（县(市)区 → 市直部门 → 书记市长直通车）；"
        "每日任务，如 cron：0 2 * * * guatu escalate_overdue"
    )

    def add_arguments(self, parser):
        parser.add_argument("--date", help="按哪一天计算，格式 YYYY-MM-DD（默认今天）")

    def handle(self, *args, **options):
        today = None
        if options["date"]:
            try:
                today = dt.date.fromisoformat(options["date"])
            except ValueError:
                raise CommandError(
                    f"日期“{options['date']}”格式不对，应为 YYYY-MM-DD，如 2026-03-31"
                ) from None
        climbed = escalate_overdue(today=today)
        self.stdout.write(escalation_summary(climbed))


def escalation_summary(climbed) -> str:
    """The one line the command prints, e.g. 已上升 3 个问题：至“市直部门协调” 2 个，至“书记市长直通车” 1 个."""
    if not climbed:
        return "没有需要上升的逾期问题"
    counts = Counter(problem.level_id for problem in climbed)
    parts = [
        f"至“{level.name}” {counts[level.pk]} 个"
        for level in EscalationLevel.objects.order_by("order")
        if counts[level.pk]
    ]
    return f"已上升 {len(climbed)} 个问题：{'，'.join(parts)}"
