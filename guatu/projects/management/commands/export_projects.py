from django.core.management.base import BaseCommand, CommandError
from django.http import QueryDict

from guatu.projects.filters import ProjectFilterSet
from guatu.projects.io import export_projects
from guatu.projects.models import Project


class Command(BaseCommand):
    help = "把项目库导出为 Excel（.xlsx），筛选条件同项目列表页；导出的文件可直接再导入。"

    def add_arguments(self, parser):
        parser.add_argument("--output", "-o", required=True, help="输出文件 .xlsx")
        parser.add_argument("--q", help="关键词（项目名称、代码、项目单位）")
        parser.add_argument("--region", action="append", default=[], help="地区行政区划代码，可多次")
        parser.add_argument("--stage", action="append", default=[], help="阶段代码，如 started，可多次")
        parser.add_argument("--chain", action="append", default=[], help="产业链编号，可多次")
        parser.add_argument("--kind", action="append", default=[], help="项目类型代码，如 industry，可多次")
        parser.add_argument("--build-type", help="建设性质 new/continuing")
        parser.add_argument("--investment-min", help="总投资不少于（万元）")
        parser.add_argument("--investment-max", help="总投资不超过（万元）")
        parser.add_argument("--ordering", help="排序，如 -total_investment")

    def handle(self, *args, output: str, **options):
        params = QueryDict(mutable=True)
        for name in ("region", "stage", "chain", "kind"):
            params.setlist(name, options[name])
        for name in ("q", "build_type", "investment_min", "investment_max", "ordering"):
            if options[name] not in (None, ""):
                params[name] = options[name]
        # A command runs as the system: the whole registry, narrowed only by the filters.
        filterset = ProjectFilterSet(params, queryset=Project.objects.all())
        if not filterset.is_valid():
            problems = "；".join(f"{field}: {' '.join(errors)}" for field, errors in filterset.errors.items())
            raise CommandError(f"筛选条件有误：{problems}")
        count = export_projects(filterset.qs, output)
        self.stdout.write(self.style.SUCCESS(f"已导出 {count} 个项目：{output}"))
