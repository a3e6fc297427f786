"""Problems that block projects (问题清单), their status flow and escalation ladder (as data),
the service around projects (项目管家 contacts and visits, 代办帮办 requests) and notifications."""

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from guatu.core.models import TrackedModel


class ProblemStatus(models.Model):
    """reported → assigned → accepted (签收) → in progress → resolved (反馈) → closed (复核销号)."""

    code = models.CharField(_("代码"), max_length=20, unique=True)
    name = models.CharField(_("名称"), max_length=20)
    order = models.PositiveSmallIntegerField(_("顺序"), unique=True)
    is_closed = models.BooleanField(_("已结束"), default=False)
    color = models.CharField(_("颜色"), max_length=20, default="secondary")

    class Meta:
        verbose_name = _("问题状态")
        verbose_name_plural = _("问题状态")
        ordering = ["order"]

    def __str__(self) -> str:
        return self.name


class ProblemTransition(models.Model):
    """One allowed step of the flow: an action moves a problem from one status to another.
    `actors` names who may take it: owner (推进主体), governor (项目办 or the county), raiser,
    leader; `needs_reason` makes the comment required."""

    action = models.CharField(_("动作"), max_length=20)
    name = models.CharField(_("名称"), max_length=20)
    from_status = models.ForeignKey(ProblemStatus, models.CASCADE, related_name="+", verbose_name=_("原状态"))
    to_status = models.ForeignKey(ProblemStatus, models.CASCADE, related_name="+", verbose_name=_("新状态"))
    actors = models.JSONField(_("可执行者"), default=list)
    needs_reason = models.BooleanField(_("须填理由"), default=False)

    class Meta:
        verbose_name = _("问题流转")
        verbose_name_plural = _("问题流转")
        ordering = ["from_status__order", "action"]
        constraints = [
            models.UniqueConstraint(fields=["action", "from_status"], name="one_transition_per_action_status")
        ]

    def __str__(self) -> str:
        return f"{self.from_status} —{self.name}→ {self.to_status}"


class EscalationLevel(models.Model):
    """The ladder: county → city department → 直通车 (书记/市长). A problem overdue by
    `climb_after_days` climbs to the next rung."""

    code = models.CharField(_("代码"), max_length=20, unique=True)
    name = models.CharField(_("名称"), max_length=30)
    order = models.PositiveSmallIntegerField(_("顺序"), unique=True)
    climb_after_days = models.PositiveSmallIntegerField(_("逾期几天后上升"), default=7)
    color = models.CharField(_("颜色"), max_length=20, default="secondary")

    class Meta:
        verbose_name = _("协调层级")
        verbose_name_plural = _("协调层级")
        ordering = ["order"]

    def __str__(self) -> str:
        return self.name


class ProblemCategory(models.TextChoices):
    LAND = "land", _("用地")
    FUNDS = "funds", _("资金")
    APPROVAL = "approval", _("审批")
    ENVIRONMENT = "environment", _("环保")
    UTILITIES = "utilities", _("水电路讯")
    RELOCATION = "relocation", _("征迁")
    OTHER = "other", _("其他")


class Problem(TrackedModel):
    project = models.ForeignKey(
        "projects.Project", models.CASCADE, related_name="problems", verbose_name=_("项目")
    )
    region = models.ForeignKey(
        "org.Region", models.PROTECT, related_name="+", verbose_name=_("所在地区"), help_text=_("随项目")
    )
    title = models.CharField(_("问题"), max_length=200)
    description = models.TextField(_("问题描述"), blank=True)
    category = models.CharField(_("类别"), max_length=20, choices=ProblemCategory.choices)
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("提出人"),
    )
    lead_leader = models.CharField(_("牵头领导"), max_length=50, blank=True)
    owner_unit = models.ForeignKey(
        "org.Unit", models.PROTECT, related_name="owned_problems", verbose_name=_("推进主体")
    )
    supporting_units = models.ManyToManyField(
        "org.Unit", blank=True, related_name="supported_problems", verbose_name=_("配合单位")
    )
    due_date = models.DateField(_("办结时限"))
    status = models.ForeignKey(ProblemStatus, models.PROTECT, related_name="+", verbose_name=_("状态"))
    level = models.ForeignKey(EscalationLevel, models.PROTECT, related_name="+", verbose_name=_("协调层级"))
    escalated_at = models.DateTimeField(_("上升时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("销号时间"), null=True, blank=True)
    source_visit = models.ForeignKey(
        "problems.StewardVisit", models.SET_NULL, null=True, blank=True, related_name="problems",
        verbose_name=_("来自走访"),
    )  # fmt: skip
    is_demo = models.BooleanField(_("演示数据"), default=False)
    version = models.PositiveIntegerField(_("版本"), default=1)

    class Meta:
        verbose_name = _("问题")
        verbose_name_plural = _("问题")
        ordering = ["due_date", "id"]
        indexes = [
            models.Index(fields=["region", "status"]),
            models.Index(fields=["owner_unit", "status"]),
            models.Index(fields=["level", "status"]),
            models.Index(fields=["due_date"]),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("problems:problem_detail", args=[self.pk])


class ProblemStep(models.Model):
    """The timeline: every step, escalation and instruction (批示), with who, when and a comment."""

    problem = models.ForeignKey(Problem, models.CASCADE, related_name="steps", verbose_name=_("问题"))
    action = models.CharField(_("动作"), max_length=20)
    from_status = models.ForeignKey(
        ProblemStatus, models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("原状态")
    )
    to_status = models.ForeignKey(
        ProblemStatus, models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("新状态")
    )
    from_level = models.ForeignKey(
        EscalationLevel, models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("原层级")
    )
    to_level = models.ForeignKey(
        EscalationLevel, models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("新层级")
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("操作人"),
    )
    at = models.DateTimeField(_("时间"), auto_now_add=True)
    comment = models.TextField(_("意见"), blank=True)
    new_due_date = models.DateField(_("新时限"), null=True, blank=True)
    new_owner_unit = models.ForeignKey(
        "org.Unit", models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("新推进主体")
    )

    class Meta:
        verbose_name = _("办理记录")
        verbose_name_plural = _("办理记录")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.problem_id} {self.action}"


class ProblemAttachment(TrackedModel):
    problem = models.ForeignKey(Problem, models.CASCADE, related_name="attachments", verbose_name=_("问题"))
    file = models.FileField(_("文件"), upload_to="problems/%Y/%m/")
    name = models.CharField(_("文件名"), max_length=200)
    size = models.PositiveIntegerField(_("大小(字节)"), default=0)

    class Meta:
        verbose_name = _("附件")
        verbose_name_plural = _("附件")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class ContactKind(models.TextChoices):
    ENTERPRISE = "enterprise", _("企业联系人")
    DEPARTMENT = "department", _("部门联系人")


class ProjectContact(TrackedModel):
    """ "1+1+n": the steward is Project.steward; here the enterprise contact (one) and the
    department contacts (n)."""

    project = models.ForeignKey(
        "projects.Project", models.CASCADE, related_name="contacts", verbose_name=_("项目")
    )
    kind = models.CharField(_("类型"), max_length=12, choices=ContactKind.choices)
    unit = models.ForeignKey(
        "org.Unit", models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("单位")
    )
    name = models.CharField(_("姓名"), max_length=50)
    title = models.CharField(_("职务"), max_length=50, blank=True)
    phone = models.CharField(_("电话"), max_length=30, blank=True)

    class Meta:
        verbose_name = _("项目联系人")
        verbose_name_plural = _("项目联系人")
        ordering = ["project", "kind", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["project"], condition=models.Q(kind="enterprise"), name="one_enterprise_contact"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.get_kind_display()}）"


class StewardVisit(TrackedModel):
    project = models.ForeignKey(
        "projects.Project", models.CASCADE, related_name="visits", verbose_name=_("项目")
    )
    region = models.ForeignKey("org.Region", models.PROTECT, related_name="+", verbose_name=_("所在地区"))
    steward = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="visits", verbose_name=_("项目管家")
    )
    visited_on = models.DateField(_("走访日期"))
    met_with = models.CharField(_("接洽人员"), max_length=200)
    findings = models.TextField(_("发现情况"))
    is_demo = models.BooleanField(_("演示数据"), default=False)

    class Meta:
        verbose_name = _("走访记录")
        verbose_name_plural = _("走访记录")
        ordering = ["-visited_on", "-id"]

    def __str__(self) -> str:
        return f"{self.visited_on} {self.project}"


class AgencyStatus(models.TextChoices):
    REQUESTED = "requested", _("已申请")
    ASSIGNED = "assigned", _("已指派")
    IN_PROGRESS = "in_progress", _("代办中")
    DONE = "done", _("已办结")
    CANCELLED = "cancelled", _("已撤回")


class AgencyRequest(TrackedModel):
    """代办帮办: an enterprise asks for an approval to be handled on its behalf."""

    project = models.ForeignKey(
        "projects.Project", models.CASCADE, related_name="agency_requests", verbose_name=_("项目")
    )
    region = models.ForeignKey("org.Region", models.PROTECT, related_name="+", verbose_name=_("所在地区"))
    approval = models.ForeignKey(
        # RESTRICT: an approval with requests cannot be deleted alone, but goes with its project.
        "projects.ProjectApproval",
        models.RESTRICT,
        related_name="agency_requests",
        verbose_name=_("前期手续"),
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("申请人"),
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="agency_tasks",
        verbose_name=_("代办员"),
    )  # fmt: skip
    status = models.CharField(
        _("状态"), max_length=12, choices=AgencyStatus.choices, default=AgencyStatus.REQUESTED
    )
    service_due = models.DateField(_("服务时限"))
    note = models.TextField(_("说明"), blank=True)
    result = models.CharField(_("办理结果"), max_length=200, blank=True)
    closed_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    is_demo = models.BooleanField(_("演示数据"), default=False)
    version = models.PositiveIntegerField(_("版本"), default=1)

    class Meta:
        verbose_name = _("代办申请")
        verbose_name_plural = _("代办申请")
        ordering = ["service_due", "id"]

    def __str__(self) -> str:
        return f"{self.project}：{self.approval.kind.name}"


class NotificationEvent(models.TextChoices):
    ASSIGNMENT = "assignment", _("交办")
    DUE_SOON = "due_soon", _("即将到期")
    OVERDUE = "overdue", _("已逾期")
    ESCALATION = "escalation", _("上升协调")
    INSTRUCTION = "instruction", _("领导批示")
    CLOSURE = "closure", _("办结销号")


class Notification(models.Model):
    """One message to one user about one event. `key` names the event (e.g. "overdue:problem:12:
    2026-11-27"), so the same event never reaches the same user twice."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.CASCADE, related_name="notifications", verbose_name=_("接收人")
    )
    event = models.CharField(_("事件"), max_length=20, choices=NotificationEvent.choices)
    key = models.CharField(_("事件标识"), max_length=120)
    title = models.CharField(_("标题"), max_length=200)
    body = models.TextField(_("内容"), blank=True)
    url = models.CharField(_("链接"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("时间"), auto_now_add=True)
    read_at = models.DateTimeField(_("已读时间"), null=True, blank=True)
    emailed_at = models.DateTimeField(_("邮件发送时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("通知")
        verbose_name_plural = _("通知")
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="one_notification_per_event")]
        indexes = [models.Index(fields=["user", "read_at"])]

    def __str__(self) -> str:
        return self.title


class DeliveryMode(models.TextChoices):
    IMMEDIATE = "immediate", _("即时邮件")
    DIGEST = "digest", _("每日汇总")


class NotificationPreference(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.CASCADE,
        related_name="notification_preferences",
        verbose_name=_("用户"),
    )
    event = models.CharField(_("事件"), max_length=20, choices=NotificationEvent.choices)
    mode = models.CharField(
        _("方式"), max_length=10, choices=DeliveryMode.choices, default=DeliveryMode.IMMEDIATE
    )

    class Meta:
        verbose_name = _("通知设置")
        verbose_name_plural = _("通知设置")
        constraints = [models.UniqueConstraint(fields=["user", "event"], name="one_preference_per_event")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.event} {self.mode}"
