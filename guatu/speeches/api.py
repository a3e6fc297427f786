"""Speeches: api. Sections: the library (import, search, pages) and the breakdown (review of
extracted items, targets and supervised tasks, exports)."""

import html

from django.db.models import Prefetch
from django.utils import timezone
from django.utils.html import strip_tags
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from guatu.core.api import RestrictedViewSetMixin
from guatu.core.permissions import restrict
from guatu.speeches import selectors, services
from guatu.speeches.filters import SpeechFilterSet, TaskFilterSet
from guatu.speeches.models import ExtractedItem, Speech, SpeechDocument, SupervisedTask, TaskNote

# --- library


class BriefDocumentSerializer(serializers.ModelSerializer):
    class Meta:
        model = SpeechDocument
        fields = ["id", "name", "compilation", "page", "stated_chars", "stated_minutes"]


class SpeechItemSerializer(serializers.ModelSerializer):
    """An item read out of the speech; start and end are offsets into the speech's text."""

    class Meta:
        model = ExtractedItem
        fields = [
            "id", "kind", "metric", "value", "value_max", "unit", "comparator", "period", "deadline",
            "sentence", "start", "end", "status",
        ]  # fmt: skip


class SpeechSerializer(serializers.ModelSerializer):
    document = serializers.PrimaryKeyRelatedField(read_only=True, help_text=gettext_lazy("来源文件编号"))
    item_count = serializers.IntegerField(read_only=True, help_text=gettext_lazy("提取条目数"))
    rank = serializers.SerializerMethodField(
        help_text=gettext_lazy("检索相关度（越大越相关）；未检索时为 null")
    )
    snippet = serializers.SerializerMethodField(help_text=gettext_lazy("检索时第一个命中处附近的原文"))

    class Meta:
        model = Speech
        fields = [
            "id", "document", "title", "speaker", "position", "date", "is_fragment", "chars",
            "reading_minutes", "item_count", "rank", "snippet", "version",
        ]  # fmt: skip

    def get_rank(self, speech) -> float | None:
        return getattr(speech, "rank", None)

    def get_snippet(self, speech) -> str:
        terms = self.context.get("terms")
        if not terms:
            return ""
        return html.unescape(strip_tags(selectors.snippet(speech.text, terms)))


class SpeechDetailSerializer(SpeechSerializer):
    document = BriefDocumentSerializer(read_only=True)
    items = SpeechItemSerializer(many=True, read_only=True)

    class Meta(SpeechSerializer.Meta):
        fields = [*SpeechSerializer.Meta.fields, "text", "start", "end", "items"]


class SpeechViewSet(RestrictedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """讲话库。列表可全文检索（q，按相关度排序，附命中处原文）并按讲话人、年份、来源文件筛选；
    详情含正文与从中提取的条目（起止位置为正文中的字符偏移）。"""

    queryset = Speech.objects.all()
    serializer_class = SpeechSerializer
    filterset_class = SpeechFilterSet
    lookup_value_regex = r"\d+"

    def _terms(self) -> list[str]:
        q = (self.request.query_params.get("q") or "").strip()
        return selectors.query_terms(q) if q else []

    def get_queryset(self):
        qs = selectors.speech_queryset(user=self.request.user, action=self.restrict_action)
        if self.action == "retrieve":
            items = restrict(ExtractedItem.objects, self.request.user, "view").order_by("start", "pk")
            return qs.prefetch_related(Prefetch("items", queryset=items))
        return qs if self._terms() else qs.defer("text")

    def get_serializer_class(self):
        return SpeechDetailSerializer if self.action == "retrieve" else SpeechSerializer

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if getattr(self, "action", None) == "list":
            context["terms"] = self._terms()
        return context


# --- breakdown


for _name, _description in (
    (
        "status",
        gettext_lazy(
            "状态代码：assigned 已交办、accepted 已签收、in_progress 办理中、resolved 已反馈、closed 已销号；可多选"
        ),
    ),
    (
        "escalation",
        gettext_lazy(
            "督办层级：county 县(市)区协调、department 市直部门协调、direct_line 书记市长直通车；可多选"
        ),
    ),
    ("owner_unit", gettext_lazy("牵头单位编号")),
    ("unit", gettext_lazy("单位编号：作为牵头单位或责任单位的任务")),
    ("region", gettext_lazy("地区代码 (GB/T 2260)；选市则含其所辖县(市)区")),
    ("overdue", gettext_lazy("true 只看逾期未销号的任务；false 只看未逾期或已销号的")),
):
    extend_schema_field({"type": "string", "description": _description})(TaskFilterSet.base_filters[_name])


class TaskNoteSerializer(serializers.ModelSerializer):
    action_name = serializers.SerializerMethodField()
    actor = serializers.StringRelatedField()
    from_status = serializers.SlugRelatedField(slug_field="code", read_only=True)
    to_status = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = TaskNote
        fields = [
            "id",
            "action",
            "action_name",
            "from_status",
            "to_status",
            "actor",
            "at",
            "progress",
            "text",
        ]

    def get_action_name(self, note) -> str:
        names = self.context.setdefault("transition_names", selectors.transition_names())
        return selectors.note_label(note, names)


class SupervisedTaskSerializer(serializers.ModelSerializer):
    region = serializers.SlugRelatedField(slug_field="code", read_only=True)
    owner_unit_name = serializers.CharField(source="owner_unit.name", read_only=True)
    status = serializers.SlugRelatedField(slug_field="code", read_only=True)
    status_name = serializers.CharField(source="status.name", read_only=True)
    escalation = serializers.SlugRelatedField(source="level", slug_field="code", read_only=True)
    escalation_name = serializers.CharField(source="level.name", read_only=True)
    overdue_days = serializers.SerializerMethodField(help_text=gettext_lazy("逾期天数；未逾期或已销号为 0"))

    class Meta:
        model = SupervisedTask
        fields = [
            "id", "code", "title", "description", "category", "speech", "source_sentence", "region",
            "lead_leader", "owner_unit", "owner_unit_name", "supporting_units", "deadline", "status",
            "status_name", "escalation", "escalation_name", "escalated_at", "closed_at", "progress",
            "overdue_days", "is_demo", "version", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields

    def get_overdue_days(self, task) -> int:
        return selectors.overdue_days(task, self.context.get("today") or timezone.localdate())


class SupervisedTaskDetailSerializer(SupervisedTaskSerializer):
    notes = TaskNoteSerializer(many=True, read_only=True)

    class Meta(SupervisedTaskSerializer.Meta):
        fields = [*SupervisedTaskSerializer.Meta.fields, "notes"]
        read_only_fields = fields


class TaskStepRequestSerializer(serializers.Serializer):
    version = serializers.IntegerField(
        min_value=1,
        help_text=gettext_lazy("读取时的版本号；过期则返回 409"),
        error_messages={"required": gettext_lazy("须提供读取时的版本号 version")},
    )
    comment = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=1000,
        help_text=gettext_lazy("意见；反馈办结、复核退回、重新打开时必填（理由）"),
    )  # fmt: skip


class TaskNoteRequestSerializer(serializers.Serializer):
    version = serializers.IntegerField(
        min_value=1, error_messages={"required": gettext_lazy("须提供读取时的版本号 version")}
    )
    progress = serializers.IntegerField(
        required=False, allow_null=True, default=None, help_text=gettext_lazy("进度 0–100")
    )
    text = serializers.CharField(
        required=False, allow_blank=True, default="", help_text=gettext_lazy("进展说明")
    )


TASK_FLOW_ACTIONS = ("assign", "accept", "start", "resolve", "verify", "send_back", "reopen")


class SupervisedTaskViewSet(
    RestrictedViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """督办任务。按状态、督办层级、牵头单位、是否逾期、类别、来源讲话筛选；办理 (accept、start、resolve、
    verify、send_back、reopen) 按问题流转表进行，当前状态不允许时返回 409 并说明原因；note 记录进展。"""

    queryset = SupervisedTask.objects.all()  # names the model; rows come from get_queryset()
    serializer_class = SupervisedTaskSerializer
    filterset_class = TaskFilterSet
    lookup_value_regex = r"\d+"
    http_method_names = ["get", "post", "head", "options"]
    # The flow decides who may take a step; the row need only be seen. A note changes the task.
    restrict_actions = {**dict.fromkeys(TASK_FLOW_ACTIONS, "view"), "note": "change"}

    def get_queryset(self):
        qs = selectors.task_queryset(user=self.request.user, action=self.restrict_action)
        if self.action == "retrieve":
            qs = qs.prefetch_related(
                Prefetch(
                    "notes",
                    queryset=TaskNote.objects.select_related("actor", "from_status", "to_status").order_by(
                        "at", "pk"
                    ),
                )
            )
        return qs

    def get_serializer_class(self):
        return SupervisedTaskDetailSerializer if self.action != "list" else SupervisedTaskSerializer

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "today": timezone.localdate()}

    def _answer(self, task_id: int, code: int = status.HTTP_200_OK) -> Response:
        task = (
            selectors.task_queryset(user=self.request.user)
            .prefetch_related(
                Prefetch("notes", queryset=TaskNote.objects.select_related("actor").order_by("at", "pk"))
            )
            .get(pk=task_id)
        )
        return Response(
            SupervisedTaskDetailSerializer(task, context=self.get_serializer_context()).data, status=code
        )

    def _step(self, request, pk, action_code: str) -> Response:
        self.get_object()  # 404 outside the user's scope
        params = TaskStepRequestSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        task = services.task_act(
            actor=request.user, task_id=int(pk), action=action_code,
            version=params.validated_data["version"], comment=params.validated_data["comment"],
        )  # fmt: skip
        return self._answer(task.pk)

    @extend_schema(request=TaskStepRequestSerializer, responses=SupervisedTaskDetailSerializer)
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        """交办：项目办或所在县(市)区交办任务。"""
        return self._step(request, pk, "assign")

    @extend_schema(request=TaskStepRequestSerializer, responses=SupervisedTaskDetailSerializer)
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        """签收：牵头单位签收已交办的任务。"""
        return self._step(request, pk, "accept")

    @extend_schema(request=TaskStepRequestSerializer, responses=SupervisedTaskDetailSerializer)
    @action(detail=True, methods=["post"])
    def start(self, request, pk=None):
        """开始办理：牵头单位开始办理已签收的任务。"""
        return self._step(request, pk, "start")

    @extend_schema(request=TaskStepRequestSerializer, responses=SupervisedTaskDetailSerializer)
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        """反馈办结：牵头单位反馈完成情况，须填写说明 comment。"""
        return self._step(request, pk, "resolve")

    @extend_schema(request=TaskStepRequestSerializer, responses=SupervisedTaskDetailSerializer)
    @action(detail=True, methods=["post"])
    def verify(self, request, pk=None):
        """复核销号：项目办、所在县(市)区或（直通车上的任务）市领导复核并销号。"""
        return self._step(request, pk, "verify")

    @extend_schema(request=TaskStepRequestSerializer, responses=SupervisedTaskDetailSerializer)
    @action(detail=True, methods=["post"], url_path="send_back", url_name="send-back")
    def send_back(self, request, pk=None):
        """复核退回：已反馈的任务退回办理，须填写理由 comment。"""
        return self._step(request, pk, "send_back")

    @extend_schema(request=TaskStepRequestSerializer, responses=SupervisedTaskDetailSerializer)
    @action(detail=True, methods=["post"])
    def reopen(self, request, pk=None):
        """重新打开：已销号的任务重新办理，须填写理由 comment。"""
        return self._step(request, pk, "reopen")

    @extend_schema(request=TaskNoteRequestSerializer, responses=SupervisedTaskDetailSerializer)
    @action(detail=True, methods=["post"])
    def note(self, request, pk=None):
        """记录进展：进度 progress (0–100) 和说明 text；牵头单位、所在县(市)区或项目办填写。"""
        self.get_object()
        params = TaskNoteRequestSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        services.task_note(
            actor=request.user,
            task_id=int(pk),
            version=data["version"],
            text=data["text"],
            progress=data["progress"],
        )
        return self._answer(int(pk))


def register_routes(router) -> None:
    """Called by guatu/api_urls.py: each section registers its viewsets here."""
    # --- library routes
    router.register("speeches", SpeechViewSet, basename="speech")
    # --- breakdown routes
    router.register("tasks", SupervisedTaskViewSet, basename="task")
