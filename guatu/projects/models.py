from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from guatu.core.models import TrackedModel


class Stage(models.Model):
    """A lifecycle stage (谋划 … 达产达效). Rows, not code: seeded by a migration."""

    code = models.CharField(_("代码"), max_length=30, unique=True)
    name = models.CharField(_("名称"), max_length=20)
    order = models.PositiveSmallIntegerField(_("顺序"), unique=True)
    is_closed = models.BooleanField(_("已结束"), default=False)
    color = models.CharField(_("颜色"), max_length=20, default="secondary")

    class Meta:
        ordering = ["order"]
        verbose_name = _("阶段")
        verbose_name_plural = _("阶段")

    def __str__(self) -> str:
        return self.name


class ProjectKind(models.TextChoices):
    INDUSTRY = "industry", _("产业")
    INFRASTRUCTURE = "infrastructure", _("基础设施")
    LIVELIHOOD = "livelihood", _("民生")


class BuildType(models.TextChoices):
    NEW = "new", _("新建")
    CONTINUING = "continuing", _("续建")


class GateStatus(models.TextChoices):
    PENDING = "pending", _("待审")
    PASSED = "passed", _("通过")
    FAILED = "failed", _("未通过")


class Project(TrackedModel):
    code = models.CharField(_("投资项目代码"), max_length=24, unique=True)
    name = models.CharField(_("项目名称"), max_length=200)
    enterprise = models.ForeignKey(
        "org.Unit", models.PROTECT, related_name="projects", verbose_name=_("项目单位")
    )
    region = models.ForeignKey(
        "org.Region", models.PROTECT, related_name="projects", verbose_name=_("所在地区")
    )
    chain = models.ForeignKey(
        "org.Chain", models.PROTECT, null=True, blank=True, related_name="projects", verbose_name=_("产业链")
    )
    kind = models.CharField(_("项目类型"), max_length=20, choices=ProjectKind.choices)
    build_type = models.CharField(
        _("建设性质"), max_length=12, choices=BuildType.choices, default=BuildType.NEW
    )
    total_investment = models.DecimalField(_("总投资(万元)"), max_digits=14, decimal_places=2)
    annual_planned_investment = models.DecimalField(
        _("年度计划投资(万元)"), max_digits=14, decimal_places=2, default=0
    )
    signed_on = models.DateField(_("签约日期"), null=True, blank=True)
    planned_start = models.DateField(_("计划开工日期"), null=True, blank=True)
    planned_completion = models.DateField(_("计划竣工日期"), null=True, blank=True)
    stage = models.ForeignKey(Stage, models.PROTECT, related_name="projects", verbose_name=_("阶段"))
    steward = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="stewarded_projects",
        verbose_name=_("项目管家"),
    )
    lead_leader = models.CharField(_("牵头领导"), max_length=50, blank=True)
    departments = models.ManyToManyField(
        "org.Unit", blank=True, related_name="involved_projects", verbose_name=_("相关部门")
    )
    latitude = models.DecimalField(_("纬度"), max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(_("经度"), max_digits=9, decimal_places=6, null=True, blank=True)
    # 谋划 gates: 严把产能关、环境关、安全关; 严控"两高""六小".
    capacity_gate = models.CharField(
        _("产能关"), max_length=8, choices=GateStatus.choices, default=GateStatus.PENDING
    )
    environment_gate = models.CharField(
        _("环境关"), max_length=8, choices=GateStatus.choices, default=GateStatus.PENDING
    )
    safety_gate = models.CharField(
        _("安全关"), max_length=8, choices=GateStatus.choices, default=GateStatus.PENDING
    )
    is_two_high = models.BooleanField(_("两高项目"), default=False)
    two_high_approval = models.CharField(_("两高项目审批文件"), max_length=200, blank=True)
    is_six_small = models.BooleanField(_("六小项目"), default=False)
    description = models.TextField(_("建设内容"), blank=True)
    is_demo = models.BooleanField(_("演示数据"), default=False)
    version = models.PositiveIntegerField(_("版本"), default=1)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("项目")
        verbose_name_plural = _("项目")
        indexes = [
            models.Index(fields=["region", "stage"]),
            models.Index(fields=["stage", "id"]),
            models.Index(fields=["chain"]),
            models.Index(fields=["kind"]),
            models.Index(fields=["total_investment"]),
            # The list's default order with its usual filters beside it: a deep page's keys come
            # from this index alone (PostgreSQL; elsewhere the included columns are left out).
            models.Index(
                fields=["-id"],
                include=["region", "stage", "chain", "kind", "total_investment"],
                name="project_list_keys_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}"

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("projects:project_detail", args=[self.pk])

    GATE_FIELDS = ("capacity_gate", "environment_gate", "safety_gate")

    def clean(self) -> None:
        """Checks that hold for a project however it is written (form, API, import, command)."""
        from guatu.projects.codes import code_errors

        errors: dict[str, list[str]] = {}
        if self.code and (messages := code_errors(self.code)):
            errors["code"] = messages
        for field in ("total_investment", "annual_planned_investment"):
            value = getattr(self, field)
            if value is not None and value < 0:
                errors.setdefault(field, []).append(_("投资额不能为负数"))
        if (
            self.total_investment is not None
            and self.annual_planned_investment is not None
            and self.annual_planned_investment > self.total_investment
        ):
            errors.setdefault("annual_planned_investment", []).append(_("年度计划投资不能大于总投资"))
        if self.planned_start and self.planned_completion and self.planned_completion < self.planned_start:
            errors.setdefault("planned_completion", []).append(_("计划竣工日期不能早于计划开工日期"))
        if (self.latitude is None) != (self.longitude is None):
            errors.setdefault("latitude", []).append(_("经度和纬度须同时填写"))
        elif self.latitude is not None and self.region_id:
            from guatu.org.selectors import city_bbox

            box = city_bbox()
            if box and not (
                box[0] <= float(self.latitude) <= box[1] and box[2] <= float(self.longitude) <= box[3]
            ):
                errors.setdefault("latitude", []).append(
                    _("坐标 (%(lat)s, %(lon)s) 不在本市范围内")
                    % {"lat": self.latitude, "lon": self.longitude}
                )
        if errors:
            raise ValidationError(errors)


class StageChange(models.Model):
    project = models.ForeignKey(Project, models.CASCADE, related_name="stage_changes", verbose_name=_("项目"))
    from_stage = models.ForeignKey(Stage, models.PROTECT, related_name="+", verbose_name=_("原阶段"))
    to_stage = models.ForeignKey(Stage, models.PROTECT, related_name="+", verbose_name=_("新阶段"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, related_name="+", verbose_name=_("操作人")
    )
    at = models.DateTimeField(_("时间"), auto_now_add=True)
    note = models.TextField(_("说明"), blank=True)
    is_override = models.BooleanField(_("越级调整"), default=False)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("阶段变更")
        verbose_name_plural = _("阶段变更")

    def __str__(self) -> str:
        return f"{self.project}: {self.from_stage} → {self.to_stage}"


class DurationUnit(models.TextChoices):
    WORKDAYS = "workdays", _("工作日")
    DAYS = "days", _("自然日")


class ApprovalKind(models.Model):
    """A kind of 前期手续 with its statutory time limit. Rows, not code: seeded by a migration,
    edited by the project office. Kinds in one `group` are alternatives (立项 is 备案, 核准 or 审批;
    环评 is 报告书, 报告表 or 登记表): a project carries one of a group."""

    code = models.CharField(_("代码"), max_length=40, unique=True)
    group = models.CharField(_("类别"), max_length=30)
    name = models.CharField(_("名称"), max_length=40)
    order = models.PositiveSmallIntegerField(_("顺序"), default=0)
    duration = models.PositiveSmallIntegerField(_("法定时限"), default=0)
    duration_unit = models.CharField(
        _("时限单位"), max_length=10, choices=DurationUnit.choices, default=DurationUnit.WORKDAYS
    )
    extension = models.PositiveSmallIntegerField(_("可延长"), default=0)
    department = models.CharField(_("审批部门"), max_length=50, blank=True)
    depends_on = models.ManyToManyField(
        "self", symmetrical=False, blank=True, related_name="dependents", verbose_name=_("前置手续")
    )
    # Project kinds (ProjectKind values) this approval applies to; empty means every kind.
    applies_to = models.JSONField(_("适用项目类型"), default=list, blank=True)
    is_default = models.BooleanField(_("类别内默认"), default=False)
    note = models.CharField(_("依据"), max_length=200, blank=True)

    class Meta:
        ordering = ["order", "code"]
        verbose_name = _("手续类型")
        verbose_name_plural = _("手续类型")

    def __str__(self) -> str:
        return self.name


class ApprovalStatus(models.TextChoices):
    NOT_STARTED = "not_started", _("未启动")
    SUBMITTED = "submitted", _("已报送")
    APPROVED = "approved", _("已批复")
    REJECTED = "rejected", _("未获批")
    NOT_NEEDED = "not_needed", _("不需办理")


class ProjectApproval(TrackedModel):
    project = models.ForeignKey(Project, models.CASCADE, related_name="approvals", verbose_name=_("项目"))
    kind = models.ForeignKey(ApprovalKind, models.PROTECT, related_name="+", verbose_name=_("手续"))
    status = models.CharField(
        _("状态"), max_length=12, choices=ApprovalStatus.choices, default=ApprovalStatus.NOT_STARTED
    )
    not_needed_reason = models.CharField(_("不需办理理由"), max_length=200, blank=True)
    submitted_on = models.DateField(_("报送日期"), null=True, blank=True)
    approved_on = models.DateField(_("批复日期"), null=True, blank=True)
    handling_department = models.ForeignKey(
        "org.Unit", models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("办理部门")
    )
    document_no = models.CharField(_("批复文号"), max_length=100, blank=True)
    version = models.PositiveIntegerField(_("版本"), default=1)

    class Meta:
        ordering = ["project", "kind__order"]
        constraints = [models.UniqueConstraint(fields=["project", "kind"], name="approval_once_per_project")]
        verbose_name = _("前期手续")
        verbose_name_plural = _("前期手续")

    def __str__(self) -> str:
        return f"{self.project} · {self.kind}"


class MilestoneKind(models.TextChoices):
    STARTED = "started", _("开工")
    MAIN_STRUCTURE = "main_structure", _("主体完工")
    COMPLETED = "completed", _("竣工")
    IN_PRODUCTION = "in_production", _("投产")


class Milestone(TrackedModel):
    """A construction milestone. The planned date is derived from the project's planned dates;
    a row holds only what people add: an override (kept and marked) and the actual date."""

    project = models.ForeignKey(Project, models.CASCADE, related_name="milestones", verbose_name=_("项目"))
    kind = models.CharField(_("节点"), max_length=20, choices=MilestoneKind.choices)
    override_date = models.DateField(_("调整后日期"), null=True, blank=True)
    override_reason = models.CharField(_("调整理由"), max_length=200, blank=True)
    actual_date = models.DateField(_("实际完成日期"), null=True, blank=True)
    version = models.PositiveIntegerField(_("版本"), default=1)

    class Meta:
        ordering = ["project", "kind"]
        constraints = [models.UniqueConstraint(fields=["project", "kind"], name="milestone_once_per_project")]
        verbose_name = _("节点")
        verbose_name_plural = _("节点")

    def __str__(self) -> str:
        return f"{self.project} · {self.get_kind_display()}"
