from django.core.management.base import BaseCommand, CommandError
from django.http import QueryDict

from guatu.attraction.filters import LeadFilterSet
from guatu.attraction.io import export_leads
from guatu.attraction.models import Lead


class Command(BaseCommand):
    help = "把招商线索导出为 Excel（.xlsx），筛选条件同线索列表页；导出的文件可直接再导入。"

    def add_arguments(self, parser):
        parser.add_argument("--output", "-o", required=True, help="输出文件 .xlsx")
        parser.add_argument("--q", help="关键词（项目名称、投资方、联系人）")
        parser.add_argument("--stage", action="append", default=[], help="阶段代码，如 signed，可多次")
        parser.add_argument("--chain", action="append", default=[], help="产业链编号，可多次")
        parser.add_argument("--county", action="append", default=[], help="县(市)区行政区划代码，可多次")
        parser.add_argument("--attracting-unit", help="招商单位编号或全称")
        parser.add_argument("--dropped", choices=["yes", "no"], help="是否已放弃")
        parser.add_argument("--blocked", choices=["yes", "no"], help="是否研判未通过")

    def handle(self, *args, output: str, **options):
        params = QueryDict(mutable=True)
        for name in ("stage", "chain", "county"):
            params.setlist(name, options[name])
        for name in ("q", "attracting_unit", "dropped", "blocked"):
            if options[name] not in (None, ""):
                params[name] = options[name]
        # A command runs as the system: every lead, narrowed only by the filters.
        filterset = LeadFilterSet(params, queryset=Lead.objects.all())
        if not filterset.is_valid():
            problems = "；".join(f"{field}: {' '.join(errors)}" for field, errors in filterset.errors.items())
            raise CommandError(f"筛选条件有误：{problems}")
        count = export_leads(filterset.qs, output)
        self.stdout.write(self.style.SUCCESS(f"已导出 {count} 条招商线索：{output}"))
