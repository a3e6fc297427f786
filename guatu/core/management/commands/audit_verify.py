from django.core.management.base import BaseCommand, CommandError

from guatu.core.changelog import CHAINS, describe_break, verify, verify_archive


class Command(BaseCommand):
    help = (
        "重新计算变更记录和登录日志两条哈希链：完整时输出条数和“完整”并退出码 0；"
        "每处断开（记录被改动、删除或插入，末尾被删除）输出一行并退出码 1。"
        "加 --archive 文件 时校验 audit_purge 写出的归档文件。由定时任务运行，不在请求中运行。"
    )

    def add_arguments(self, parser):
        parser.add_argument("--archive", metavar="FILE", help="校验一个归档文件（.jsonl.gz）及其摘要文件")

    def handle(self, *args, **options):
        if options["archive"]:
            return self.check_archive(options["archive"])
        lines = []
        for chain in CHAINS:
            found = [describe_break(chain, item) for item in verify(chain)]
            for line in found:
                self.stderr.write(line)
            lines += found
            if not found:
                count = chain.model.objects.count()
                self.stdout.write(f"{chain.label}链完整：共 {count} 条")
        if lines:
            raise CommandError(f"审计记录不完整：共 {len(lines)} 处断开，第一处：{lines[0]}", returncode=1)
        self.stdout.write("审计记录完整")

    def check_archive(self, path: str) -> None:
        report = verify_archive(path)
        for line in report.notes:
            self.stdout.write(line)
        for line in report.problems:
            self.stderr.write(line)
        if report.problems:
            raise CommandError(f"归档文件“{path}”校验未通过：共 {len(report.problems)} 处问题", returncode=1)
        self.stdout.write(f"归档文件“{path}”完整：{report.summary}")
