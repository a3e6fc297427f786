"""The problems app over the API."""

from django.db.models import Prefetch
from django.utils import timezone
from django.utils.functional import lazy
from django.utils.translation import gettext, gettext_lazy
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from guatu.core.api import RestrictedPrimaryKeyRelatedField, RestrictedViewSetMixin
from guatu.org.models import Unit
from guatu.problems import selectors, services
from guatu.problems.filters import ProblemFilterSet
from guatu.problems.models import Problem, ProblemStep
from guatu.projects.models import Project

# --- problems and the 直通车

for _name, _description in (
    (
        "status",
        gettext_lazy(
            "状态代码：reported 已上报、assigned 已交办、accepted 已签收、in_progress 办理中、resolved 已反馈、closed 已销号；可多选"
        ),
    ),
    (
        "escalation",
        gettext_lazy(
            "协调层级：county 县(市)区协调、department 市直部门协调、direct_line 书记市长直通车；可多选"
        ),
    ),
    ("region", gettext_lazy("地区代码 (GB/T 2260)；选市则含其所辖县(市)区")),
    ("unit", gettext_lazy("单位编号：作为推进主体或配合单位的问题")),
    ("overdue", gettext_lazy("true 只看逾期未销号的问题；false 只看未逾期或已销号的")),
):
    extend_schema_field({"type": "string", "description": _description})(ProblemFilterSet.base_filters[_name])


def _unit_errors(label: str) -> dict:
    return {
        "does_not_exist": _lazy_format("%(label)s：编号为 {pk_value} 的单位不存在", label),
        "incorrect_type": _lazy_format("%(label)s：须为单位编号（整数），收到 {data_type}", label),
    }


def _lazy_format(text: str, label: str):
    return lazy(lambda: gettext(text) % {"label": gettext(label)}, str)()


class ProblemStepSerializer(serializers.ModelSerializer):
    action_name = serializers.SerializerMethodField()
    actor = serializers.StringRelatedField()
    from_status = serializers.SlugRelatedField(slug_field="code", read_only=True)
    to_status = serializers.SlugRelatedField(slug_field="code", read_only=True)
    from_level = serializers.SlugRelatedField(slug_field="code", read_only=True)
    to_level = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = ProblemStep
        fields = [
            "id", "action", "action_name", "from_status", "to_status", "from_level", "to_level", "actor", "at",
            "comment", "new_due_date", "new_owner_unit",
        ]  # fmt: skip

    def get_action_name(self, step) -> str:
        names = self.context.setdefault("transition_names", selectors.transition_names())
        return selectors.step_label(step, names)


class ProblemSerializer(serializers.ModelSerializer):
    project = RestrictedPrimaryKeyRelatedField(
        queryset=Project.objects.all(),
        required=False,
        allow_null=True,
        error_messages={"does_not_exist": gettext_lazy("项目：编号为 {pk_value} 的项目不存在或无权查看")},
    )
    project_name = serializers.CharField(source="project.name", read_only=True)
    region = serializers.SlugRelatedField(slug_field="code", read_only=True)
    owner_unit = RestrictedPrimaryKeyRelatedField(
        queryset=Unit.objects.all(), required=False, allow_null=True, error_messages=_unit_errors("推进主体")
    )
    owner_unit_name = serializers.CharField(source="owner_unit.name", read_only=True)
    supporting_units = RestrictedPrimaryKeyRelatedField(
        queryset=Unit.objects.all(), many=True, required=False
    )
    due_date = serializers.DateField(required=False, allow_null=True)
    status = serializers.SlugRelatedField(slug_field="code", read_only=True)
    status_name = serializers.CharField(source="status.name", read_only=True)
    escalation = serializers.SlugRelatedField(source="level", slug_field="code", read_only=True)
    escalation_name = serializers.CharField(source="level.name", read_only=True)
    overdue_days = serializers.SerializerMethodField(help_text=gettext_lazy("逾期天数；未逾期或已销号为 0"))
    raised_by = serializers.StringRelatedField()
    version = serializers.IntegerField(
        min_value=1,
        required=False,
        help_text=gettext_lazy("读取时的版本号；修改和办理时必填，过期则返回 409"),
    )

    class Meta:
        model = Problem
        fields = [
            "id", "project", "project_name", "region", "title", "description", "category", "raised_by",
            "lead_leader", "owner_unit", "owner_unit_name", "supporting_units", "due_date", "status",
            "status_name", "escalation", "escalation_name", "escalated_at", "closed_at", "overdue_days",
            "is_demo", "version", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = ["escalated_at", "closed_at", "is_demo", "created_at", "updated_at"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["supporting_units"].child_relation.error_messages.update(_unit_errors("配合单位"))

    def get_overdue_days(self, problem) -> int:
        return selectors.overdue_days(problem, self.context.get("today") or timezone.localdate())

    def validate(self, attrs):
        if self.instance is not None:
            if "version" not in attrs:
                raise serializers.ValidationError({"version": _("修改问题须提供读取时的版本号 version")})
            project = attrs.pop("project", None)
            if project is not None and project != self.instance.project:
                raise serializers.ValidationError({"project": _("问题所属的项目不能修改")})
        else:
            attrs.pop("version", None)
        return attrs


class ProblemDetailSerializer(ProblemSerializer):
    steps = ProblemStepSerializer(many=True, read_only=True)

    class Meta(ProblemSerializer.Meta):
        fields = [*ProblemSerializer.Meta.fields, "steps"]


class ProblemStepRequestSerializer(serializers.Serializer):
    version = serializers.IntegerField(
        min_value=1,
        help_text=gettext_lazy("读取时的版本号；过期则返回 409"),
        error_messages={"required": gettext_lazy("须提供读取时的版本号 version")},
    )
    comment = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=1000,
        help_text=gettext_lazy("意见；反馈办结、复核退回、重新打开时必填（理由）"),
    )


class ProblemEscalateRequestSerializer(serializers.Serializer):
    version = serializers.IntegerField(
        min_value=1, error_messages={"required": gettext_lazy("须提供读取时的版本号 version")}
    )
    reason = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=1000,
        help_text=gettext_lazy("上升理由（必填）"),
    )


class ProblemInstructRequestSerializer(serializers.Serializer):
    version = serializers.IntegerField(
        min_value=1, error_messages={"required": gettext_lazy("须提供读取时的版本号 version")}
    )
    instruction = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=2000,
        help_text=gettext_lazy("批示内容（必填）"),
    )
    new_due_date = serializers.DateField(required=False, allow_null=True, default=None)
    new_owner_unit = RestrictedPrimaryKeyRelatedField(
        queryset=Unit.objects.all(),
        required=False,
        allow_null=True,
        default=None,
        error_messages=_unit_errors("新推进主体"),
    )


FLOW_ACTIONS = ("assign", "accept", "start", "resolve", "verify", "send_back", "reopen")


class ProblemViewSet(
    RestrictedViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """问题清单。按状态、协调层级、是否逾期、单位、地区筛选；提出问题 (POST) 与修改 (PATCH) 经服务层校验；
    办理、上升协调、批示各有接口，当前状态不允许时返回 409 并说明原因。"""

    queryset = Problem.objects.all()  # names the model; rows come from get_queryset()
    serializer_class = ProblemSerializer
    filterset_class = ProblemFilterSet
    lookup_value_regex = r"\d+"
    http_method_names = ["get", "post", "patch", "head", "options"]
    # The flow decides who may take a step (ProblemTransition.actors); the row need only be seen.
    restrict_actions = dict.fromkeys((*FLOW_ACTIONS, "escalate", "instruct"), "view")

    def get_queryset(self):
        qs = selectors.problem_queryset(user=self.request.user, action=self.restrict_action)
        if self.action == "retrieve":
            qs = qs.prefetch_related(
                Prefetch(
                    "steps",
                    queryset=ProblemStep.objects.select_related(
                        "actor", "from_status", "to_status", "from_level", "to_level"
                    ).order_by("at", "id"),
                )
            )
        return qs

    def get_serializer_class(self):
        return ProblemDetailSerializer if self.action != "list" else ProblemSerializer

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "today": timezone.localdate()}

    def _answer(self, problem_id: int, code: int = status.HTTP_200_OK) -> Response:
        problem = (
            selectors.problem_queryset(user=self.request.user)
            .prefetch_related(
                Prefetch("steps", queryset=ProblemStep.objects.select_related("actor").order_by("at", "id"))
            )
            .get(pk=problem_id)
        )
        return Response(
            ProblemDetailSerializer(problem, context=self.get_serializer_context()).data, status=code
        )

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        problem = services.problem_create(actor=request.user, data=serializer.validated_data)
        return self._answer(problem.pk, status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        serializer = self.get_serializer(self.get_object(), data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        version = data.pop("version")
        problem = services.problem_update(
            actor=request.user, problem_id=serializer.instance.pk, version=version, data=data
        )
        return self._answer(problem.pk)

    def _step(self, request, pk, action: str) -> Response:
        params = ProblemStepRequestSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        problem = services.problem_act(
            actor=request.user,
            problem_id=int(pk),
            action=action,
            version=params.validated_data["version"],
            comment=params.validated_data["comment"],
        )
        return self._answer(problem.pk)

    @extend_schema(request=ProblemStepRequestSerializer, responses=ProblemDetailSerializer)
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        """交办：已上报的问题交给推进主体（项目办或所在县(市)区）。"""
        return self._step(request, pk, "assign")

    @extend_schema(request=ProblemStepRequestSerializer, responses=ProblemDetailSerializer)
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        """签收：推进主体签收已交办的问题。"""
        return self._step(request, pk, "accept")

    @extend_schema(request=ProblemStepRequestSerializer, responses=ProblemDetailSerializer)
    @action(detail=True, methods=["post"])
    def start(self, request, pk=None):
        """开始办理：推进主体开始办理已签收的问题。"""
        return self._step(request, pk, "start")

    @extend_schema(request=ProblemStepRequestSerializer, responses=ProblemDetailSerializer)
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        """反馈办结：推进主体反馈办理结果，须填写说明 comment。"""
        return self._step(request, pk, "resolve")

    @extend_schema(request=ProblemStepRequestSerializer, responses=ProblemDetailSerializer)
    @action(detail=True, methods=["post"])
    def verify(self, request, pk=None):
        """复核销号：项目办、所在县(市)区或（直通车问题）市领导复核已反馈的问题并销号。"""
        return self._step(request, pk, "verify")

    @extend_schema(request=ProblemStepRequestSerializer, responses=ProblemDetailSerializer)
    @action(detail=True, methods=["post"], url_path="send_back", url_name="send-back")
    def send_back(self, request, pk=None):
        """复核退回：已反馈的问题退回办理，须填写理由 comment。"""
        return self._step(request, pk, "send_back")

    @extend_schema(request=ProblemStepRequestSerializer, responses=ProblemDetailSerializer)
    @action(detail=True, methods=["post"])
    def reopen(self, request, pk=None):
        """重新打开：已销号的问题重新办理，须填写理由 comment。"""
        return self._step(request, pk, "reopen")

    @extend_schema(request=ProblemEscalateRequestSerializer, responses=ProblemDetailSerializer)
    @action(detail=True, methods=["post"])
    def escalate(self, request, pk=None):
        """上升协调：未销号的问题上升一级（县(市)区 → 市直部门 → 书记市长直通车），须填写理由 reason。"""
        params = ProblemEscalateRequestSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        problem = services.problem_escalate(
            actor=request.user,
            problem_id=int(pk),
            version=params.validated_data["version"],
            reason=params.validated_data["reason"],
        )
        return self._answer(problem.pk)

    @extend_schema(request=ProblemInstructRequestSerializer, responses=ProblemDetailSerializer)
    @action(detail=True, methods=["post"])
    def instruct(self, request, pk=None):
        """领导批示：直通车上的问题，市领导或项目办批示 instruction，可另定办结时限 new_due_date 和推进主体
        new_owner_unit；通知所有相关人员。"""
        params = ProblemInstructRequestSerializer(data=request.data, context={"request": request})
        params.is_valid(raise_exception=True)
        data = params.validated_data
        problem = services.problem_instruct(
            actor=request.user,
            problem_id=int(pk),
            version=data["version"],
            instruction=data["instruction"],
            new_due_date=data["new_due_date"],
            new_owner_unit=data["new_owner_unit"],
        )
        return self._answer(problem.pk)


# --- stewards, contacts, visits and agency requests

# --- notifications
