import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from guatu.problems.services import send_digest


class Command(BaseCommand):
    help = "发送每日通知汇总邮件：选择“每日汇总”的用户每人一封，列出前一天尚未发邮件的通知（每日任务，如 cron：0 7 * * * guatu send_digest）"

    def add_arguments(self, parser):
        parser.add_argument("--date", help="按哪一天发送，汇总其前一天的通知，格式 YYYY-MM-DD（默认今天）")

    def handle(self, *args, **options):
        today = None
        if options["date"]:
            try:
                today = dt.date.fromisoformat(options["date"])
            except ValueError:
                raise CommandError(
                    f"日期“{options['date']}”格式不对，应为 YYYY-MM-DD，如 2026-03-31"
                ) from None
        counts = send_digest(today=today)
        self.stdout.write(f"已向 {counts['users']} 位用户发送汇总邮件，共 {counts['notifications']} 条通知")
