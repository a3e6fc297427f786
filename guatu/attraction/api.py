"""The attraction app over the API: leads (GET /api/attraction/leads/) and the funnel
(GET /api/attraction/funnel/?year=2026)."""

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from guatu.attraction import selectors
from guatu.attraction import services as lead_services
from guatu.attraction.filters import LeadFilterSet
from guatu.attraction.forms import FunnelFilterForm
from guatu.attraction.models import ChainLink, Lead
from guatu.core.api import BriefRelatedSerializer, RestrictedSlugRelatedField, RestrictedViewSetMixin
from guatu.org.api import BriefChainSerializer, BriefUnitSerializer
from guatu.org.models import Region

# --- leads

for _name, _description in (
    ("stage", gettext_lazy("阶段代码，如 clue、signed；可多次")),
    ("county", gettext_lazy("拟落地县(市)区代码 (GB/T 2260)；选市则含全部县(市)区；可多次")),
    ("attracting_unit", gettext_lazy("招商单位编号或全称")),
    ("dropped", gettext_lazy("yes 只看已放弃的，no 只看未放弃的")),
    ("blocked", gettext_lazy("yes 只看研判未通过（不能签约）的，no 反之")),
):
    extend_schema_field({"type": "string", "description": _description})(LeadFilterSet.base_filters[_name])


class BriefLinkSerializer(BriefRelatedSerializer):
    model = ChainLink


class LeadSerializer(serializers.ModelSerializer):
    chain = BriefChainSerializer()
    link = BriefLinkSerializer(required=False, allow_null=True)
    attracting_unit = BriefUnitSerializer()
    region = RestrictedSlugRelatedField(
        slug_field="code", queryset=Region.objects.all(), help_text=gettext_lazy("拟落地县(市)区代码")
    )
    stage = serializers.SlugRelatedField(slug_field="code", read_only=True)
    stage_name = serializers.CharField(source="stage.name", read_only=True)
    screening_failures = serializers.SerializerMethodField(
        help_text=gettext_lazy("不能签约的原因；为空表示研判通过")
    )
    project = serializers.PrimaryKeyRelatedField(read_only=True, help_text=gettext_lazy("入库项目编号"))
    entered_on = serializers.DateField(
        write_only=True, required=False, help_text=gettext_lazy("新建时进入“线索”阶段的日期，缺省为今天")
    )

    class Meta:
        model = Lead
        fields = [
            "id", "name", "investor", "investor_region", "chain", "link", "position", "amount",
            "attracting_unit", "region", "contact_name", "contact_phone", "expected_signing", "stage",
            "stage_name", "industry_fit", "relocation", "is_two_high", "is_six_small", "land_mu",
            "energy_tce", "screening_note", "screening_failures", "dropped_at", "drop_reason", "project",
            "entered_on", "is_demo", "version", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = ["dropped_at", "drop_reason", "is_demo", "version", "created_at", "updated_at"]

    def get_screening_failures(self, lead) -> list[str]:
        return lead_services.screening_failures(lead)


class LeadViewSet(RestrictedViewSetMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """招商线索。列表按与页面、导出相同的条件筛选（阶段、产业链、县(市)区、招商单位）；新建经服务层校验，
    从“线索”阶段开始，并记入变更记录。"""

    queryset = Lead.objects.all()
    serializer_class = LeadSerializer
    filterset_class = LeadFilterSet
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        return selectors.lead_queryset(user=self.request.user, action=self.restrict_action)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        on = data.pop("entered_on", None)
        lead = lead_services.lead_create(actor=request.user, data=data, on=on)
        return Response(self.get_serializer(lead).data, status=status.HTTP_201_CREATED)


# --- funnel and chain map


def _rate(**kwargs) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=6, decimal_places=4, allow_null=True, read_only=True, **kwargs)


class FunnelStageSerializer(serializers.Serializer):
    code = serializers.CharField(
        help_text=gettext_lazy(
            "阶段代码：clue、negotiating、framework、signed、registered、started、in_production"
        )
    )
    name = serializers.CharField()
    count = serializers.IntegerField(help_text=gettext_lazy("本期达到该阶段（含越过该阶段）的线索数"))
    amount = serializers.DecimalField(
        max_digits=16, decimal_places=2, help_text=gettext_lazy("这些线索的意向投资合计（万元）")
    )
    dropped = serializers.IntegerField(help_text=gettext_lazy("本期在该阶段放弃的线索数"))
    median_days = serializers.FloatField(
        allow_null=True, help_text=gettext_lazy("本期离开该阶段的线索在该阶段停留天数的中位数；没有则为 null")
    )
    mean_days = serializers.FloatField(allow_null=True, help_text=gettext_lazy("停留天数的平均数"))


class FunnelRatesSerializer(serializers.Serializer):
    landing_rate = _rate(
        help_text=gettext_lazy(
            "核准落户率：本期正式签约的线索中期末前已注册落户的比例（0–1）；分母为 0 时为 null"
        )
    )
    start_completion_rate = _rate(
        help_text=gettext_lazy("开工竣工率：本期开工的线索中入库项目已竣工或已投产的比例（0–1）")
    )
    production_rate = _rate(help_text=gettext_lazy("投产达效率：本期开工的线索中已投产的比例（0–1）"))


class FunnelCountySerializer(serializers.Serializer):
    code = serializers.CharField(help_text=gettext_lazy("县(市)区代码 (GB/T 2260)"))
    name = serializers.CharField()
    stages = FunnelStageSerializer(many=True)
    rates = FunnelRatesSerializer()


class FunnelSerializer(serializers.Serializer):
    year = serializers.IntegerField()
    period = serializers.CharField(help_text=gettext_lazy("期间：2026 或 2026Q1"))
    county = serializers.CharField(allow_null=True, help_text=gettext_lazy("所选县(市)区代码；全市为 null"))
    chain = serializers.IntegerField(allow_null=True, help_text=gettext_lazy("所选产业链编号；全部为 null"))
    stages = FunnelStageSerializer(many=True, help_text=gettext_lazy("按阶段顺序"))
    rates = FunnelRatesSerializer()
    counties = FunnelCountySerializer(many=True, help_text=gettext_lazy("各县(市)区的同样数字"))


def _figures(figures: selectors.FunnelFigures) -> dict:
    return {
        "stages": [vars(s) | {"amount": s.amount_wan} for s in figures.stages],
        "rates": {code: rate.value for code, rate in figures.rates.items()},
    }


class FunnelView(APIView):
    """招商漏斗：一个期间内各阶段（按顺序）的线索数、意向投资（万元）、放弃数与停留天数，
    以及核准落户率、开工竣工率、投产达效率，附各县(市)区的同样数字。只计本账号可见的线索。"""

    queryset = Lead.objects.none()  # names the model: restrict() on leads decides who reads

    @extend_schema(
        parameters=[
            OpenApiParameter("year", int, description=gettext_lazy("年度，缺省为今年")),
            OpenApiParameter("quarter", int, enum=[1, 2, 3, 4], description=gettext_lazy("季度；缺省为全年")),
            OpenApiParameter("county", str, description=gettext_lazy("县(市)区代码，如 211302")),
            OpenApiParameter("chain", int, description=gettext_lazy("产业链编号")),
        ],
        responses=FunnelSerializer,
    )
    def get(self, request):
        today = timezone.localdate()
        form = FunnelFilterForm(request.query_params, user=request.user, today=today)
        if not form.is_valid():
            raise ValidationError({field: list(errors) for field, errors in form.errors.items()})
        result = selectors.funnel(user=request.user, today=today, **form.funnel_params())
        data = {
            "year": result.period.year,
            "period": str(result.period),
            "county": result.region.code if result.region else None,
            "chain": result.chain.pk if result.chain else None,
            **_figures(result.total),
            "counties": [
                {"code": c.region.code, "name": c.region.label, **_figures(c.figures)}
                for c in result.counties
            ],
        }
        return Response(FunnelSerializer(data).data)
