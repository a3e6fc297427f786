"""The project registry over the API. Serializers check shape and convert; services write."""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from guatu.accounts.models import Role, User
from guatu.core.api import (
    RestrictedPrimaryKeyRelatedField,
    RestrictedSlugRelatedField,
    RestrictedViewSetMixin,
)
from guatu.org.api import BriefChainSerializer, BriefUnitSerializer
from guatu.org.models import Region, Unit
from guatu.projects import selectors, services
from guatu.projects.filters import ProjectFilterSet
from guatu.projects.models import ApprovalKind, GateStatus, Project, ProjectApproval, Stage

# The region and stage filters take codes through `region__code`/`stage__code` with to_field_name,
# a path drf-spectacular cannot follow; say so here rather than let it guess (and warn).
for _name, _description in (
    ("region", gettext_lazy("地区代码 (GB/T 2260)；选市则含其所辖县(市)区")),
    ("stage", gettext_lazy("阶段代码，如 planning、signed")),
):
    extend_schema_field({"type": "string", "description": _description})(ProjectFilterSet.base_filters[_name])


@extend_schema_field(
    {
        "type": "string",
        "enum": GateStatus.values,
        "description": "；".join(f"`{value}` {label}" for value, label in GateStatus.choices),
    },
    component_name="GateStatusEnum",
)
class GateField(serializers.ChoiceField):
    """The three 谋划 gates share one choice set, named once in the schema."""

    def __init__(self, **kwargs):
        super().__init__(choices=GateStatus.choices, required=False, **kwargs)


class ProjectSerializer(serializers.ModelSerializer):
    region = RestrictedSlugRelatedField(slug_field="code", queryset=Region.objects.all())
    stage = serializers.SlugRelatedField(slug_field="code", queryset=Stage.objects.all(), required=False)
    enterprise = BriefUnitSerializer()
    chain = BriefChainSerializer(required=False, allow_null=True)
    steward = RestrictedPrimaryKeyRelatedField(
        queryset=User.objects.filter(role=Role.STEWARD), required=False, allow_null=True
    )
    departments = RestrictedPrimaryKeyRelatedField(many=True, queryset=Unit.objects.all(), required=False)
    capacity_gate = GateField(label=Project._meta.get_field("capacity_gate").verbose_name)
    environment_gate = GateField(label=Project._meta.get_field("environment_gate").verbose_name)
    safety_gate = GateField(label=Project._meta.get_field("safety_gate").verbose_name)
    version = serializers.IntegerField(
        min_value=1,
        required=False,
        help_text=gettext_lazy("读取时的版本号；修改 (PUT/PATCH) 时必填，过期则返回 409"),
    )

    class Meta:
        model = Project
        fields = [
            "id", "code", "name", "enterprise", "region", "chain", "kind", "build_type", "stage",
            "total_investment", "annual_planned_investment", "planned_start", "planned_completion",
            "steward", "lead_leader", "departments", "latitude", "longitude", "capacity_gate",
            "environment_gate", "safety_gate", "is_two_high", "two_high_approval", "is_six_small",
            "description", "is_demo", "version", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = ["is_demo", "created_at", "updated_at"]

    def validate(self, attrs):
        if self.instance is not None:
            if "version" not in attrs:
                raise serializers.ValidationError({"version": _("修改项目须提供读取时的版本号 version")})
            stage = attrs.pop("stage", None)
            if stage is not None and stage != self.instance.stage:
                raise serializers.ValidationError(
                    {"stage": _("阶段不能在这里修改，请使用阶段变更接口 POST /api/projects/{id}/stage/")}
                )
        else:
            attrs.pop("version", None)
        return attrs


class StageChangeSerializer(serializers.Serializer):
    to_stage = serializers.SlugRelatedField(slug_field="code", queryset=Stage.objects.all())
    note = serializers.CharField(required=False, allow_blank=True, default="")
    override_reason = serializers.CharField(required=False, allow_blank=True, default="")
    version = serializers.IntegerField(min_value=1)


class ProjectDeleteSerializer(serializers.Serializer):
    version = serializers.IntegerField(
        min_value=1, required=False, help_text=gettext_lazy("读取时的版本号；提供时若已过期则返回 409")
    )


# 倒排工期 (backward schedule): the shape of GET /api/projects/{id}/schedule/


class ScheduleItemSerializer(serializers.Serializer):
    kind = serializers.CharField(source="code", help_text=gettext_lazy("手续类型代码或节点代码"))
    name = serializers.CharField()
    type = serializers.ChoiceField(
        source="kind",
        choices=["approval", "milestone"],
        help_text=gettext_lazy("approval 前期手续；milestone 节点"),
    )
    latest_start = serializers.DateField(allow_null=True)
    latest_finish = serializers.DateField(allow_null=True)
    actual_start = serializers.DateField(allow_null=True)
    actual_finish = serializers.DateField(allow_null=True)
    late = serializers.BooleanField()
    late_days = serializers.IntegerField()
    overridden = serializers.BooleanField(help_text=gettext_lazy("节点日期已人工调整"))
    override_reason = serializers.CharField()
    depends_on = serializers.ListField(child=serializers.CharField())
    status = serializers.CharField()


class ProjectScheduleSerializer(serializers.Serializer):
    project = serializers.IntegerField()
    planned_start = serializers.DateField(allow_null=True)
    items = ScheduleItemSerializer(many=True)


class ProjectViewSet(RestrictedViewSetMixin, viewsets.ModelViewSet):
    """重点项目库。列表按与页面、导出相同的筛选条件过滤；写操作经服务层校验并记入变更记录。"""

    # Names the model for the permission class and the schema; the rows come from get_queryset().
    queryset = Project.objects.all()
    serializer_class = ProjectSerializer
    filterset_class = ProjectFilterSet
    lookup_value_regex = r"\d+"
    restrict_actions = {"stage": "change"}

    def get_queryset(self):
        return selectors.project_queryset(
            user=self.request.user, action=self.restrict_action
        ).prefetch_related("departments")

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        project = services.project_create(actor=request.user, data=serializer.validated_data)
        return Response(self.get_serializer(project).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        serializer = self.get_serializer(self.get_object(), data=request.data, partial=kwargs.get("partial"))
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        version = data.pop("version")
        project = services.project_update(
            actor=request.user, project_id=serializer.instance.pk, version=version, data=data
        )
        return Response(self.get_serializer(project).data)

    @extend_schema(parameters=[ProjectDeleteSerializer])
    def destroy(self, request, *args, **kwargs):
        params = ProjectDeleteSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        services.project_delete(
            actor=request.user, project_id=int(kwargs["pk"]), version=params.validated_data.get("version")
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=StageChangeSerializer, responses=ProjectSerializer)
    @action(detail=True, methods=["post"])
    def stage(self, request, pk=None):
        """变更项目阶段：进入下一阶段或退回上一阶段；项目办可填写理由越级调整。"""
        serializer = StageChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        project = services.project_change_stage(
            actor=request.user,
            project_id=int(pk),
            to_stage=data["to_stage"].code,
            note=data["note"],
            override_reason=data["override_reason"],
            version=data["version"],
        )
        return Response(self.get_serializer(project).data)

    # 倒排工期 (backward schedule)
    @extend_schema(responses=ProjectScheduleSerializer)
    @action(detail=True, methods=["get"])
    def schedule(self, request, pk=None):
        """倒排工期：每项前期手续的最迟报送（latest_start）、最迟批复（latest_finish）日期，由计划开工日期按法定
        时限和前置关系倒排（节假日按国家法定安排）；以及开工、主体完工、竣工、投产节点。late 表示已过最迟日期仍未
        完成，或完成晚于最迟日期。"""
        project = self.get_object()
        items = selectors.project_schedule(user=request.user, project=project)
        data = {"project": project.pk, "planned_start": project.planned_start, "items": items}
        return Response(ProjectScheduleSerializer(data).data)


# ---------------------------------------------------------------- 前期手续 and 倒排工期


class ApprovalSerializer(serializers.ModelSerializer):
    project = serializers.PrimaryKeyRelatedField(read_only=True)
    kind = serializers.SlugRelatedField(
        slug_field="code",
        queryset=ApprovalKind.objects.all(),
        required=False,
        help_text=gettext_lazy("手续类型代码；只能改选同一类别的另一种（如 eia_form → eia_report）"),
    )
    kind_name = serializers.CharField(source="kind.name", read_only=True)
    handling_department = RestrictedPrimaryKeyRelatedField(
        queryset=Unit.objects.all(), required=False, allow_null=True
    )
    version = serializers.IntegerField(
        min_value=1, required=False, help_text=gettext_lazy("读取时的版本号；修改时必填，过期则返回 409")
    )

    class Meta:
        model = ProjectApproval
        fields = [
            "id", "project", "kind", "kind_name", "status", "submitted_on", "approved_on", "handling_department",
            "document_no", "not_needed_reason", "version", "updated_at",
        ]  # fmt: skip
        read_only_fields = ["updated_at"]

    def validate(self, attrs):
        if "version" not in attrs:
            raise serializers.ValidationError({"version": _("修改手续须提供读取时的版本号 version")})
        return attrs


class ApprovalViewSet(
    RestrictedViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """项目前期手续。可按项目（project）和状态（status）筛选；修改 (PATCH) 经服务层校验规则并记入变更记录。"""

    queryset = ProjectApproval.objects.select_related("kind").order_by("project", "kind__order", "id")
    serializer_class = ApprovalSerializer
    filterset_fields = ["project", "status"]
    http_method_names = ["get", "patch", "head", "options"]

    def update(self, request, *args, **kwargs):
        serializer = self.get_serializer(self.get_object(), data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        version = data.pop("version")
        approval = services.approval_update(
            actor=request.user, approval_id=serializer.instance.pk, version=version, data=data
        )
        return Response(self.get_serializer(approval).data)
