"""The progress app over the API: monthly reports (list, create, change, workflow) and warnings.
Serializers check shape and convert; services write."""

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from guatu.core.api import RestrictedPrimaryKeyRelatedField, RestrictedViewSetMixin
from guatu.progress import selectors, services
from guatu.progress.filters import MonthlyReportFilterSet, WarningFilterSet, parse_month
from guatu.progress.models import MonthlyReport, ProjectWarning, ReportPhoto
from guatu.projects.models import Project

# --- monthly reports

for _name, _description in (
    ("month", gettext_lazy("月份，如 2026-10")),
    ("region", gettext_lazy("地区代码 (GB/T 2260)；选市则含其所辖县(市)区")),
    (
        "status",
        gettext_lazy("月报状态代码：draft 草稿、submitted 已报送、returned 已退回、approved 已审核；可多选"),
    ),
):
    extend_schema_field({"type": "string", "description": _description})(
        MonthlyReportFilterSet.base_filters[_name]
    )


@extend_schema_field({"type": "string", "pattern": r"^\d{4}-\d{2}$", "example": "2026-10"})
class MonthField(serializers.Field):
    """A month as "2026-10" (the first day of the month inside)."""

    default_error_messages = {"invalid": gettext_lazy("月份格式应为 2026-10，收到“{value}”")}

    def to_representation(self, value):
        return f"{value:%Y-%m}"

    def to_internal_value(self, data):
        month = parse_month(data)
        if month is None:
            self.fail("invalid", value=data)
        return month


class ReportPhotoSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField(help_text=gettext_lazy("照片地址（已去除 EXIF，需登录）"))

    class Meta:
        model = ReportPhoto
        fields = ["id", "url", "caption", "taken_at", "latitude", "longitude"]

    def get_url(self, photo) -> str:
        return reverse("progress:report_photo", args=[photo.pk])


class MonthlyReportSerializer(serializers.ModelSerializer):
    project = RestrictedPrimaryKeyRelatedField(queryset=Project.objects.all())
    project_code = serializers.CharField(source="project.code", read_only=True)
    project_name = serializers.CharField(source="project.name", read_only=True)
    region = serializers.SlugRelatedField(slug_field="code", read_only=True)
    month = MonthField()
    cumulative_investment = serializers.DecimalField(
        max_digits=16,
        decimal_places=2,
        read_only=True,
        help_text=gettext_lazy("累计完成投资（万元）：该项目截至本月各月完成投资之和，由系统计算"),
    )
    status = serializers.SlugRelatedField(slug_field="code", read_only=True)
    status_name = serializers.CharField(source="status.name", read_only=True)
    due_date = serializers.SerializerMethodField(help_text=gettext_lazy("报送截止日（次月规定日）"))
    flag = serializers.SerializerMethodField(
        help_text=gettext_lazy("报送情况：missing 缺报、late 迟报、on_time 按时、pending 未到截止日")
    )
    photos = ReportPhotoSerializer(many=True, read_only=True)
    version = serializers.IntegerField(
        min_value=1,
        required=False,
        help_text=gettext_lazy("读取时的版本号；修改 (PATCH) 时必填，过期则返回 409"),
    )

    class Meta:
        model = MonthlyReport
        fields = [
            "id", "project", "project_code", "project_name", "region", "month", "investment_done",
            "cumulative_investment", "percent_complete", "physical_progress", "jobs_on_site", "status",
            "status_name", "submitted_at", "approved_at", "approver", "return_reason", "due_date", "flag",
            "photos", "version", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = [
            "submitted_at",
            "approved_at",
            "approver",
            "return_reason",
            "created_at",
            "updated_at",
        ]
        validators = []  # one report per project and month: the service answers a duplicate with 409

    def _due(self, report):
        return selectors.due_date(report.month, self.context.get("due_day"))

    def get_due_date(self, report) -> str:
        return self._due(report).isoformat()

    def get_flag(self, report) -> str:
        return selectors.report_flag(
            report, due=self._due(report), today=self.context.get("today") or timezone.localdate()
        )

    def validate(self, attrs):
        if self.instance is not None:
            if "version" not in attrs:
                raise serializers.ValidationError({"version": _("修改月报须提供读取时的版本号 version")})
            for field, label in (("project", _("项目")), ("month", _("月份"))):
                value = attrs.pop(field, None)
                current = getattr(self.instance, field)
                if value is not None and value != current:
                    raise serializers.ValidationError({field: _("%(label)s不能修改") % {"label": label}})
        else:
            attrs.pop("version", None)
        return attrs


class ReportWorkflowSerializer(serializers.Serializer):
    version = serializers.IntegerField(min_value=1, help_text=gettext_lazy("读取时的版本号；过期则返回 409"))
    reason = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=300,
        help_text=gettext_lazy("退回理由（退回时必填）；重新打开的理由（可选）"),
    )


REPORT_DATA_FIELDS = ("investment_done", "percent_complete", "physical_progress", "jobs_on_site")


class MonthlyReportViewSet(
    RestrictedViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """项目月报。累计完成投资由系统按月相加；修改须带版本号，过期返回 409；报送、审核、退回、重新打开
    各有接口，当前状态不允许时返回 409 并说明原因。"""

    queryset = MonthlyReport.objects.all()  # names the model; rows come from get_queryset()
    serializer_class = MonthlyReportSerializer
    filterset_class = MonthlyReportFilterSet
    lookup_value_regex = r"\d+"
    http_method_names = ["get", "post", "patch", "head", "options"]
    restrict_actions = {
        "submit": "change",
        "approve": "approve",
        "return_report": "approve",
        "reopen": "approve",
    }

    def get_queryset(self):
        if self.action == "list":
            # The running total is summed for the page's rows only, not over every report.
            return selectors.report_rows_queryset(
                user=self.request.user, action=self.restrict_action
            ).prefetch_related("photos")
        return selectors.report_queryset(
            user=self.request.user, action=self.restrict_action
        ).prefetch_related("photos")

    def get_serializer_context(self):
        return {
            **super().get_serializer_context(),
            "due_day": selectors.due_day(),
            "today": timezone.localdate(),
        }

    def get_object(self):
        # By id after the running total, so the report keeps its cumulative investment.
        report = selectors.report_row(self.get_queryset(), self.kwargs["pk"])
        if report is None:
            raise NotFound(_("月报不存在或无权操作"))
        self.check_object_permissions(self.request, report)
        return report

    def _answer(self, report_id: int, code: int = status.HTTP_200_OK) -> Response:
        report = selectors.report_row(
            selectors.report_queryset(user=self.request.user).prefetch_related("photos"), report_id
        )
        return Response(self.get_serializer(report).data, status=code)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        report = services.report_save(
            actor=request.user,
            project_id=data["project"].pk,
            month=data["month"],
            data={k: v for k, v in data.items() if k in REPORT_DATA_FIELDS},
        )
        return self._answer(report.pk, status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        report = self.get_object()
        serializer = self.get_serializer(report, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        saved = services.report_save(
            actor=request.user,
            project_id=report.project_id,
            month=report.month,
            data={k: v for k, v in data.items() if k in REPORT_DATA_FIELDS},
            version=data["version"],
        )
        return self._answer(saved.pk)

    def _step(self, request, pk, step: str) -> Response:
        params = ReportWorkflowSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        kwargs = {"actor": request.user, "report_id": int(pk), "version": params.validated_data["version"]}
        if step in {"return", "reopen"}:
            kwargs["reason"] = params.validated_data["reason"]
        report = services.REPORT_WORKFLOW[step](**kwargs)
        return self._answer(report.pk)

    @extend_schema(request=ReportWorkflowSerializer, responses=MonthlyReportSerializer)
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        """报送：草稿或已退回的月报报送审核。"""
        return self._step(request, pk, "submit")

    @extend_schema(request=ReportWorkflowSerializer, responses=MonthlyReportSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        """审核通过：已报送的月报。"""
        return self._step(request, pk, "approve")

    @extend_schema(request=ReportWorkflowSerializer, responses=MonthlyReportSerializer)
    @action(detail=True, methods=["post"], url_path="return", url_name="return")
    def return_report(self, request, pk=None):
        """退回：已报送的月报退回修改，须填写理由 reason。"""
        return self._step(request, pk, "return")

    @extend_schema(request=ReportWorkflowSerializer, responses=MonthlyReportSerializer)
    @action(detail=True, methods=["post"])
    def reopen(self, request, pk=None):
        """重新打开：已审核的月报回到草稿；只有审核人或项目办可以操作。"""
        return self._step(request, pk, "reopen")


# --- warnings

# The filters take codes (to_field_name), a path drf-spectacular cannot follow: name them here.
for _name, _description in (
    ("level", gettext_lazy("预警等级：red 红灯、yellow 黄灯、green 绿灯")),
    ("region", gettext_lazy("地区代码 (GB/T 2260)；选市则含其所辖县(市)区")),
    (
        "rule",
        gettext_lazy("触发的规则：start 开工、progress 进度、report 月报、deadline 节点、recovery 销号恢复"),
    ),
):
    extend_schema_field({"type": "string", "description": _description})(WarningFilterSet.base_filters[_name])


class WarningReasonSerializer(serializers.Serializer):
    rule = serializers.CharField(help_text=gettext_lazy("规则代码"))
    level = serializers.CharField(help_text=gettext_lazy("该规则给出的等级"))
    reason = serializers.CharField(help_text=gettext_lazy("原因"))


class WarningSerializer(serializers.ModelSerializer):
    project_name = serializers.CharField(source="project.name", read_only=True)
    project_code = serializers.CharField(source="project.code", read_only=True)
    region = serializers.SlugRelatedField(slug_field="code", read_only=True)
    level = serializers.SlugRelatedField(slug_field="code", read_only=True)
    reasons = WarningReasonSerializer(many=True, read_only=True)

    class Meta:
        model = ProjectWarning
        fields = ["project", "project_name", "project_code", "region", "level", "reasons", "computed_on"]


class WarningViewSet(RestrictedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """项目预警（红黄绿灯）：每个项目取最严重的规则，列出全部原因。按项目编号查询单个项目。"""

    queryset = ProjectWarning.objects.all()  # names the model; rows come from get_queryset()
    serializer_class = WarningSerializer
    filterset_class = WarningFilterSet
    lookup_field = "project"
    lookup_value_regex = r"\d+"
    pagination_groups = selectors.WARNING_GROUPS  # see guatu.core.pagination.sort_groups

    def get_queryset(self):
        return selectors.warning_queryset(user=self.request.user)
