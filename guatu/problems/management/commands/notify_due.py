import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from guatu.problems.services import notify_due


class Command(BaseCommand):
    help = (
        "通知即将到期和已逾期的问题（及代办申请）的相关人员；每个问题每个办结时限只通知一次，"
        "时限改变后重新通知（每日任务，如 cron：30 6 * * * guatu notify_due）"
    )

    def add_arguments(self, parser):
        parser.add_argument("--date", help="按哪一天计算，格式 YYYY-MM-DD（默认今天）")
        parser.add_argument("--days", type=int, default=3, help="到期前几天提醒（默认 3）")

    def handle(self, *args, **options):
        today = None
        if options["date"]:
            try:
                today = dt.date.fromisoformat(options["date"])
            except ValueError:
                raise CommandError(
                    f"日期“{options['date']}”格式不对，应为 YYYY-MM-DD，如 2026-03-31"
                ) from None
        if options["days"] < 0:
            raise CommandError(f"--days 应为 0 或正整数，而不是 {options['days']}")
        counts = notify_due(today=today, days=options["days"])
        self.stdout.write(
            f"即将到期的问题 {counts['due_soon']} 个，已逾期的问题 {counts['overdue']} 个；"
            f"即将到期的代办申请 {counts['agency_due_soon']} 件，超过服务时限的代办申请 {counts['agency_overdue']} 件"
            "（已通知过的不再重复）"
        )
