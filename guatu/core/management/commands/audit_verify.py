from django.core.management.base import BaseCommand, CommandError

from guatu.core.changelog import verify_chain
from guatu.core.models import ChangeRecord


class Command(BaseCommand):
    help = "重新计算变更记录的哈希链：完整时退出码 0，否则指出第一条被破坏的记录并退出码 1"

    def handle(self, *args, **options):
        total = ChangeRecord.objects.count()
        for record_id, problem in verify_chain():
            what = "与上一条记录的链接断开" if problem == "prev_hash" else "内容与摘要不符"
            raise CommandError(f"变更记录链在第 {record_id} 条断开：{what}（共 {total} 条）", returncode=1)
        self.stdout.write(f"变更记录链完整：共 {total} 条")
