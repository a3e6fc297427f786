import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from guatu.core.changelog import CHAINS, AuditError, purge


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--before “{value}”不是 YYYY-MM-DD 格式的日期") from None


class Command(BaseCommand):
    help = (
        "把超过保留期限（GUATU_AUDIT_RETENTION_DAYS，至少 180 天）的变更记录和登录日志移入归档目录中的"
        "文件（gzip 压缩的 JSON 行）及其 SM3 摘要文件，再在一个事务内从数据库删除；两条哈希链仍可校验。"
        "由定时任务（cron 或 systemd timer）运行，不在请求中运行：运行期间暂停所有审计记录的写入。"
    )

    def add_arguments(self, parser):
        parser.add_argument("--archive", metavar="DIR", required=True, help="归档目录")
        parser.add_argument(
            "--before", metavar="YYYY-MM-DD", type=_date, help="清理此日期之前的记录；不得晚于保留期限"
        )
        parser.add_argument("--dry-run", action="store_true", help="只统计将清理的条数，不写文件、不删除")

    def handle(self, *args, **options):
        try:
            result = purge(
                archive_dir=options["archive"], before=options["before"], dry_run=options["dry_run"]
            )
        except AuditError as err:
            raise CommandError(str(err)) from None
        labels = {chain.name: chain.label for chain in CHAINS}
        counts = "，".join(f"{labels[name]} {count} 条" for name, count in result.counts.items())
        cutoff = f"{timezone.localtime(result.cutoff):%Y-%m-%d %H:%M}"
        if options["dry_run"]:
            self.stdout.write(f"试运行：{cutoff} 之前将清理 {counts}，未做任何修改")
        elif result.archive is None:
            self.stdout.write(f"{cutoff} 之前没有可清理的审计记录")
        else:
            self.stdout.write(
                f"已归档并清理 {cutoff} 之前的 {counts}：归档文件 {result.archive}，摘要文件 {result.digest_file}"
            )
