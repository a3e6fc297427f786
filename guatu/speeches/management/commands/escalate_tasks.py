import datetime as dt
from collections import Counter

from django.core.management.base import BaseCommand, CommandError

from guatu.problems.models import EscalationLevel
from guatu.speeches.services import escalate_overdue_tasks


class Command(BaseCommand):
    help = (
        "逾期的督办任务通知相关单位（每个完成时限一次），逾期超过本层级规定天数仍未销号的自动上升一级"
        "（县(市)区 → 市直部门 → 书记市长直通车）；每日任务，如 cron：0 2 * * * guatu escalate_tasks"
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
        climbed = escalate_overdue_tasks(today=today)
        if not climbed:
            self.stdout.write("没有需要上升的逾期督办任务")
            return
        counts = Counter(task.level_id for task in climbed)
        parts = [
            f"至“{level.name}” {counts[level.pk]} 项"
            for level in EscalationLevel.objects.order_by("order")
            if counts[level.pk]
        ]
        self.stdout.write(f"已上升 {len(climbed)} 项督办任务：{'，'.join(parts)}")
