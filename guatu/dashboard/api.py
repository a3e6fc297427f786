"""The dashboard over the API: GET /api/dashboard/summary/?year=2026&quarter=2 — the same figures
the dashboard shows, per county-level division and in total, in the user's scope."""

from django.utils import timezone
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from guatu.attraction.api import FunnelSerializer, _figures
from guatu.core.db_router import lagging_reads
from guatu.dashboard import selectors
from guatu.projects.models import Project, ProjectKind
from guatu.targets.api import STATUS_HELP, RankingSchemeSerializer, RankingUnitSerializer


def _money(**kwargs) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=18, decimal_places=2, **kwargs)


def _rate(**kwargs) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=8, decimal_places=1, allow_null=True, **kwargs)


class PhaseSerializer(serializers.Serializer):
    quarter = serializers.IntegerField()
    name = serializers.CharField(help_text=gettext_lazy("季度主题：开门红、双过半、攻坚、收官"))
    slogan = serializers.CharField()


class PeriodSerializer(serializers.Serializer):
    code = serializers.CharField(help_text=gettext_lazy("期间：2026、2026Q2 或 2026-05"))
    label = serializers.CharField()
    start = serializers.DateField()
    end = serializers.DateField()
    phase = PhaseSerializer(allow_null=True, help_text=gettext_lazy("该季度的主题；全年为 null"))


class FiltersSerializer(serializers.Serializer):
    year = serializers.IntegerField()
    quarter = serializers.IntegerField(allow_null=True)
    month = serializers.IntegerField(allow_null=True)
    chain = serializers.IntegerField(allow_null=True)
    kind = serializers.CharField(allow_null=True)


class FiguresSerializer(serializers.Serializer):
    projects = serializers.IntegerField(help_text=gettext_lazy("项目数"))
    total_investment = _money(help_text=gettext_lazy("总投资（万元）"))
    annual_plan = _money(help_text=gettext_lazy("年度计划投资（万元）"))
    investment_done = _money(help_text=gettext_lazy("本期完成投资（万元，已报送或已审核的月报）"))
    plan_completion = _rate(help_text=gettext_lazy("计划完成率 %（年初至期末，按月序时）；无计划为 null"))
    red = serializers.IntegerField(help_text=gettext_lazy("红灯项目数"))
    yellow = serializers.IntegerField(help_text=gettext_lazy("黄灯项目数"))
    green = serializers.IntegerField(help_text=gettext_lazy("绿灯项目数"))
    planned_starts = serializers.IntegerField(help_text=gettext_lazy("本期计划开工项目数（至今）"))
    started = serializers.IntegerField(help_text=gettext_lazy("其中已开工项目数"))
    start_rate = _rate(help_text=gettext_lazy("开工率 %；无计划开工为 null"))


class DivisionSerializer(FiguresSerializer):
    code = serializers.CharField(help_text=gettext_lazy("县(市)区代码 (GB/T 2260)"))
    name = serializers.CharField()


class StageCountSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    color = serializers.CharField()
    count = serializers.IntegerField()


class DashboardTargetSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="target.id")
    metric = serializers.CharField(source="target.metric")
    metric_name = serializers.CharField()
    metric_unit = serializers.CharField()
    scope = serializers.CharField(source="target.scope_label")
    period = serializers.CharField(source="target.period")
    value = _money(source="target.value")
    actual = _money(allow_null=True)
    forecast = _money(allow_null=True)
    forecast_low = _money(allow_null=True)
    forecast_high = _money(allow_null=True)
    status = serializers.CharField(help_text=STATUS_HELP)
    status_label = serializers.CharField()


class RedProjectSerializer(serializers.Serializer):
    project = serializers.IntegerField(source="warning.project_id")
    code = serializers.CharField(source="warning.project.code")
    name = serializers.CharField(source="warning.project.name")
    region = serializers.CharField(source="warning.region.code")
    region_name = serializers.CharField(source="warning.region.name")
    reasons = serializers.ListField(child=serializers.CharField(), help_text=gettext_lazy("亮红灯的原因"))


class OverdueProblemSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="problem.id")
    title = serializers.CharField(source="problem.title")
    project = serializers.IntegerField(source="problem.project_id")
    project_name = serializers.CharField(source="problem.project.name")
    region = serializers.CharField(source="problem.region.code")
    status = serializers.CharField(source="problem.status.name")
    level = serializers.CharField(source="problem.level.name")
    due_date = serializers.DateField(source="problem.due_date")
    overdue_days = serializers.IntegerField(help_text=gettext_lazy("超期天数"))


class DirectLineSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="problem.id")
    title = serializers.CharField(source="problem.title")
    project = serializers.IntegerField(source="problem.project_id")
    project_name = serializers.CharField(source="problem.project.name")
    region = serializers.CharField(source="problem.region.code")
    status = serializers.CharField(source="problem.status.name")
    due_date = serializers.DateField(source="problem.due_date")
    days_since_reported = serializers.IntegerField()
    days_since_escalated = serializers.IntegerField(allow_null=True)
    overdue_days = serializers.IntegerField()


class RankingBoardSerializer(serializers.Serializer):
    scheme = RankingSchemeSerializer(allow_null=True, help_text=gettext_lazy("考核方案；没有则为 null"))
    results = RankingUnitSerializer(many=True)


class SummarySerializer(serializers.Serializer):
    period = PeriodSerializer()
    filters = FiltersSerializer()
    total = FiguresSerializer(help_text=gettext_lazy("本账号可见范围的合计"))
    divisions = DivisionSerializer(many=True, help_text=gettext_lazy("各县(市)区；县(市)区账号只有本区"))
    stages = StageCountSerializer(many=True, help_text=gettext_lazy("各项目阶段的项目数，按阶段顺序"))
    targets = DashboardTargetSerializer(many=True, help_text=gettext_lazy("本期全市及本单位的目标"))
    ranking = RankingBoardSerializer()
    attraction = FunnelSerializer()
    red = RedProjectSerializer(many=True, help_text=gettext_lazy("红灯项目（前 10 个）"))
    overdue_problems = OverdueProblemSerializer(
        many=True, help_text=gettext_lazy("超期最久的问题（前 10 个）")
    )
    direct_line = DirectLineSerializer(many=True, help_text=gettext_lazy("直通车待办（等待最久的前 10 件）"))
    direct_line_count = serializers.IntegerField(help_text=gettext_lazy("直通车待办总数"))


def summary_data(result: dict) -> dict:
    """The selector's result in the shape SummarySerializer reads."""
    funnel = result["attraction"]
    return {
        **result,
        "ranking": {
            "scheme": result["scheme"],
            "results": [
                {
                    **vars(s),
                    "region": s.region.code if s.region else None,
                    "unit": s.unit.pk if s.unit else None,
                    "is_leader": s.is_leader,
                }
                for s in result["ranking"]
            ],
        },
        "attraction": {
            "year": funnel.period.year,
            "period": str(funnel.period),
            "county": funnel.region.code if funnel.region else None,
            "chain": funnel.chain.pk if funnel.chain else None,
            **_figures(funnel.total),
            "counties": [
                {"code": c.region.code, "name": c.region.label, **_figures(c.figures)}
                for c in funnel.counties
            ],
        },
    }


class SummaryView(APIView):
    """挂图作战汇总：按年度、季度、月份、产业链、项目类型筛选，各县(市)区及合计的项目数、总投资、年度计划、
    本期完成投资、计划完成率、红黄绿灯数与开工率；项目阶段分布、本期目标、擂台排名、招商漏斗、红灯项目、
    超期问题与直通车待办。数字与列表页、其他接口相同条件下一致；县(市)区账号只看到本区。"""

    queryset = Project.objects.none()  # names the model: restrict() on projects decides who reads

    @extend_schema(
        parameters=[
            OpenApiParameter("year", int, description=gettext_lazy("年度，缺省为今年")),
            OpenApiParameter("quarter", int, enum=[1, 2, 3, 4], description=gettext_lazy("季度；缺省为全年")),
            OpenApiParameter("month", int, description=gettext_lazy("月份 1–12；给出则按月")),
            OpenApiParameter("chain", int, description=gettext_lazy("产业链编号")),
            OpenApiParameter("kind", str, enum=ProjectKind.values, description=gettext_lazy("项目类型")),
        ],
        responses=SummarySerializer,
    )
    @lagging_reads()
    def get(self, request):
        today = timezone.localdate()
        flt = selectors.DashboardFilter.from_params(request.query_params, today=today)
        result = selectors.summary(user=request.user, flt=flt, today=today)
        return Response(SummarySerializer(summary_data(result)).data)
