"""The targets app over the API: targets with actual and forecast; rankings."""

# --- targets
from django.core.exceptions import ValidationError
from django.db.models import prefetch_related_objects
from django.utils import timezone
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from guatu.core.api import RestrictedViewSetMixin
from guatu.core.db_router import lagging_reads
from guatu.targets import scoring
from guatu.targets import selectors as target_selectors
from guatu.targets.filters import TargetFilterSet
from guatu.targets.forecast import forecast_targets
from guatu.targets.models import SchemeGroup, ScoringScheme, Target
from guatu.targets.periods import Period

for _name, _description in (
    ("period", gettext_lazy("期间：2026、2026Q1 或 2026-03（精确匹配）")),
    ("metric", gettext_lazy("指标代码，如 started、signed、started_or_resumed")),
    ("region", gettext_lazy("地区代码 (GB/T 2260)")),
):
    extend_schema_field({"type": "string", "description": _description})(TargetFilterSet.base_filters[_name])

STATUS_HELP = gettext_lazy(
    "met 已完成；missed 未完成；on_track 有望完成；at_risk 有风险；off_track 难以完成；no_data 暂无数据"
)


def _decimal(**kwargs) -> serializers.DecimalField:
    return serializers.DecimalField(
        max_digits=16, decimal_places=2, read_only=True, allow_null=True, **kwargs
    )


class TargetPartSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="target.id")
    region = serializers.CharField(source="target.region.code", help_text=gettext_lazy("县(市)区代码"))
    region_name = serializers.CharField(source="target.region.label")
    value = serializers.DecimalField(source="target.value", max_digits=14, decimal_places=2)
    actual = _decimal()
    forecast = _decimal()
    forecast_low = _decimal()
    forecast_high = _decimal()
    status = serializers.CharField(help_text=STATUS_HELP)


class TargetSerializer(serializers.ModelSerializer):
    """A target with its actual (computed from project facts), forecast band at the period's end,
    status, and for a split city target its county parts."""

    region = serializers.SlugRelatedField(slug_field="code", read_only=True)
    unit = serializers.PrimaryKeyRelatedField(read_only=True)
    scope = serializers.CharField(source="scope_label", read_only=True)
    metric_name = serializers.CharField(source="row.metric_name", read_only=True)
    metric_unit = serializers.CharField(source="row.metric_unit", read_only=True)
    actual = _decimal(source="row.actual", help_text=gettext_lazy("至今实际值，由项目事实计算"))
    forecast = _decimal(source="row.forecast", help_text=gettext_lazy("期末预测值"))
    forecast_low = _decimal(source="row.forecast_low", help_text=gettext_lazy("预测区间下限"))
    forecast_high = _decimal(source="row.forecast_high", help_text=gettext_lazy("预测区间上限"))
    status = serializers.CharField(source="row.status", read_only=True, help_text=STATUS_HELP)
    status_label = serializers.CharField(source="row.status_label", read_only=True)
    parts_total = _decimal(source="row.parts_total", help_text=gettext_lazy("分解到县(市)区的合计"))
    parts_gap = _decimal(source="row.parts_gap", help_text=gettext_lazy("分解合计减全市目标；非零即不相符"))
    parts = TargetPartSerializer(source="part_rows", many=True, read_only=True)

    class Meta:
        model = Target
        fields = [
            "id", "metric", "metric_name", "metric_unit", "scope", "region", "unit", "period", "period_kind",
            "start", "end", "comparator", "value", "parent", "pledge", "source", "is_demo", "actual",
            "forecast", "forecast_low", "forecast_high", "status", "status_label", "parts_total", "parts_gap",
            "parts",
        ]  # fmt: skip
        read_only_fields = fields

    def to_representation(self, instance):
        if not hasattr(instance, "row"):  # a list page attaches every row at once (attach_rows)
            request = self.context.get("request")
            attach_rows([instance], user=getattr(request, "user", None), today=self.context.get("today"))
        return super().to_representation(instance)


def attach_rows(targets, *, user, today=None) -> None:
    """Each target's row (actual, forecast, status) and its visible parts' rows, for all the
    targets at once: a fixed number of queries however many targets and periods."""
    today = today or timezone.localdate()
    targets = list(targets)
    prefetch_related_objects(targets, "parts")  # each row's split check reads its parts
    for target, row in zip(targets, forecast_targets(targets, today=today), strict=True):
        target.row, target.part_rows = row, []
    by_pk = {t.pk: t for t in targets}
    parts = list(
        target_selectors.target_queryset(user=user)
        .filter(parent__in=list(by_pk))
        .order_by("parent", "region__code", "unit__name")
    )
    for part, row in zip(parts, forecast_targets(parts, today=today), strict=True):
        by_pk[part.parent_id].part_rows.append(row)


class TargetViewSet(RestrictedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """目标：指标、范围、期间、比较与目标值，附至今实际值、期末预测（区间）与状态；全市目标附分解到各县(市)区的部分。
    按期间 (period)、指标 (metric)、地区代码 (region) 筛选。"""

    queryset = Target.objects.all()  # names the model; rows come from get_queryset()
    serializer_class = TargetSerializer
    filterset_class = TargetFilterSet
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        return target_selectors.target_queryset(user=self.request.user, action=self.restrict_action)

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        if page is not None:
            attach_rows(page, user=self.request.user)
        return page


# --- rankings


def _points(**kwargs) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=12, decimal_places=2, read_only=True, **kwargs)


class RankingLineSerializer(serializers.Serializer):
    label = serializers.CharField(help_text=gettext_lazy("考核项名称；名次加分一行为“名次加分”"))
    metric = serializers.CharField(help_text=gettext_lazy("指标代码；名次加分一行为空"))
    kind = serializers.CharField(
        help_text=gettext_lazy("weighted 权重计分、count 按数计分、deduction 扣分、bonus 名次加分")
    )
    actual = serializers.DecimalField(max_digits=16, decimal_places=2, allow_null=True, read_only=True)
    target = serializers.DecimalField(max_digits=16, decimal_places=2, allow_null=True, read_only=True)
    measure = serializers.CharField(help_text=gettext_lazy("实际与目标的计量单位：个、%、万元"))
    points = _points(help_text=gettext_lazy("本行得分（扣分为负）；各行之和等于总分"))
    note = serializers.CharField(help_text=gettext_lazy("说明，如“未下达目标”“封顶 10 分”"))


class RankingUnitSerializer(serializers.Serializer):
    key = serializers.CharField(
        help_text=gettext_lazy("县(市)区代码，或 unit:<单位编号>（开发区、市直部门）")
    )
    name = serializers.CharField()
    region = serializers.CharField(
        allow_null=True, help_text=gettext_lazy("县(市)区代码；开发区、市直部门为 null")
    )
    unit = serializers.IntegerField(
        allow_null=True, help_text=gettext_lazy("开发区或市直部门的单位编号；县(市)区为 null")
    )
    rank = serializers.IntegerField(help_text=gettext_lazy("名次；同分者并列，下一名次顺延（1, 1, 3）"))
    score = _points(help_text=gettext_lazy("总分 = 项目得分 + 名次加分"))
    items_total = _points(help_text=gettext_lazy("各考核项得分之和"))
    bonus = _points(help_text=gettext_lazy("名次加分"))
    movement = serializers.IntegerField(
        allow_null=True, help_text=gettext_lazy("较上期名次的变化：正数上升，负数下降；上期未排名为 null")
    )
    is_leader = serializers.BooleanField(help_text=gettext_lazy("擂主（第 1 名）"))
    is_bottom = serializers.BooleanField(help_text=gettext_lazy("后三位"))
    breakdown = RankingLineSerializer(many=True)


class RankingSchemeSerializer(serializers.ModelSerializer):
    class Meta:
        model = ScoringScheme
        fields = ["id", "name", "year", "group", "version", "ranking_bonuses"]


class RankingSerializer(serializers.Serializer):
    period = serializers.CharField()
    period_label = serializers.CharField()
    group = serializers.CharField()
    scheme = RankingSchemeSerializer(
        allow_null=True, help_text=gettext_lazy("计分所依据的考核方案；当年没有则为 null")
    )
    results = RankingUnitSerializer(many=True)


class RankingView(APIView):
    """擂台比武排名：一个期间内各单位的得分、名次、较上期升降与逐项明细（指标、实际、目标、得分），
    明细各行之和等于总分。期间缺省为本月。"""

    queryset = ScoringScheme.objects.none()  # names the model: restrict() on schemes decides who reads

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "period", str, description=gettext_lazy("期间：2026-11（月，缺省为本月）、2026Q1 或 2026")
            ),
            OpenApiParameter(
                "group",
                str,
                enum=SchemeGroup.values,
                description=gettext_lazy("考核对象：county 县(市)区及开发区（缺省）、department 市直部门"),
            ),
        ],
        responses=RankingSerializer,
    )
    @lagging_reads()
    def get(self, request):
        today = timezone.localdate()
        errors = {}
        period = scoring.default_period(today)
        if request.query_params.get("period"):
            try:
                period = Period.parse(request.query_params["period"])
            except ValidationError as err:
                errors["period"] = err.messages
        try:
            group = scoring.parse_group(request.query_params.get("group"))
        except ValidationError as err:
            errors.update(err.message_dict)
        if errors:
            raise ValidationError(errors)
        scheme, scores = scoring.ranking_for(user=request.user, period=period, group=group, today=today)
        data = {
            "period": str(period),
            "period_label": period.label,
            "group": group,
            "scheme": scheme,
            "results": [
                {
                    **vars(s),
                    "region": s.region.code if s.region else None,
                    "unit": s.unit.pk if s.unit else None,
                    "is_leader": s.is_leader,
                }
                for s in scores
            ],
        }
        return Response(RankingSerializer(data).data)
