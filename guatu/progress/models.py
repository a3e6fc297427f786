from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from guatu.core.models import TrackedModel


class ReportStatus(models.Model):
    """A monthly report's workflow status (草稿 → 已报送 → 已审核, or 已退回). Rows, seeded by a migration."""

    code = models.CharField(_("代码"), max_length=20, unique=True)
    name = models.CharField(_("名称"), max_length=20)
    order = models.PositiveSmallIntegerField(_("顺序"), unique=True)
    is_closed = models.BooleanField(_("已结束"), default=False)
    color = models.CharField(_("颜色"), max_length=20, default="secondary")

    class Meta:
        ordering = ["order"]
        verbose_name = _("月报状态")
        verbose_name_plural = _("月报状态")

    def __str__(self) -> str:
        return self.name


class MonthlyReport(TrackedModel):
    """One project's report for one month. Cumulative investment is computed, never typed."""

    project = models.ForeignKey(
        "projects.Project", models.CASCADE, related_name="monthly_reports", verbose_name=_("项目")
    )
    region = models.ForeignKey("org.Region", models.PROTECT, related_name="+", verbose_name=_("所在地区"))
    month = models.DateField(_("月份"), help_text=_("该月第一天"))
    investment_done = models.DecimalField(_("本月完成投资(万元)"), max_digits=14, decimal_places=2)
    percent_complete = models.DecimalField(_("形象进度(%)"), max_digits=5, decimal_places=2)
    physical_progress = models.TextField(_("形象进度描述"), blank=True)
    jobs_on_site = models.PositiveIntegerField(_("在岗人数"), default=0)
    status = models.ForeignKey(ReportStatus, models.PROTECT, related_name="+", verbose_name=_("状态"))
    submitted_at = models.DateTimeField(_("报送时间"), null=True, blank=True)
    approved_at = models.DateTimeField(_("审核时间"), null=True, blank=True)
    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("审核人"),
    )
    return_reason = models.CharField(_("退回理由"), max_length=300, blank=True)
    version = models.PositiveIntegerField(_("版本"), default=1)

    class Meta:
        ordering = ["-month", "project"]
        constraints = [
            models.UniqueConstraint(fields=["project", "month"], name="one_report_per_project_month")
        ]
        indexes = [
            models.Index(fields=["region", "month"]),
            models.Index(fields=["month", "status"]),
            # The lists' order (latest month first, then the project's own order, newest first),
            # read backwards: a page, or a cursor page however deep, is a range of this index.
            models.Index(fields=["month", "project", "id"]),
        ]
        verbose_name = _("月报")
        verbose_name_plural = _("月报")

    def __str__(self) -> str:
        return f"{self.project} · {self.month:%Y-%m}"


class ReportPhoto(TrackedModel):
    report = models.ForeignKey(MonthlyReport, models.CASCADE, related_name="photos", verbose_name=_("月报"))
    # The served file is re-encoded without EXIF; the location it carried is kept here as data.
    image = models.ImageField(_("照片"), upload_to="reports/%Y/%m/")
    caption = models.CharField(_("说明"), max_length=200, blank=True)
    taken_at = models.DateTimeField(_("拍摄时间"), null=True, blank=True)
    latitude = models.DecimalField(_("纬度"), max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(_("经度"), max_digits=9, decimal_places=6, null=True, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("现场照片")
        verbose_name_plural = _("现场照片")

    def __str__(self) -> str:
        return self.caption or self.image.name


class WarningLevel(models.Model):
    """green / yellow / red. Rows with order (worse is higher) and colour."""

    code = models.CharField(_("代码"), max_length=10, unique=True)
    name = models.CharField(_("名称"), max_length=10)
    order = models.PositiveSmallIntegerField(_("严重程度"), unique=True)
    color = models.CharField(_("颜色"), max_length=20)

    class Meta:
        ordering = ["order"]
        verbose_name = _("预警等级")
        verbose_name_plural = _("预警等级")

    def __str__(self) -> str:
        return self.name


class WarningRule(models.Model):
    """A warning rule with its thresholds as data (editable by the project office)."""

    code = models.CharField(_("代码"), max_length=30, unique=True)
    name = models.CharField(_("名称"), max_length=40)
    description = models.CharField(_("说明"), max_length=300, blank=True)
    params = models.JSONField(_("阈值"), default=dict)
    is_active = models.BooleanField(_("启用"), default=True)
    order = models.PositiveSmallIntegerField(_("顺序"), default=0)

    class Meta:
        ordering = ["order"]
        verbose_name = _("预警规则")
        verbose_name_plural = _("预警规则")

    def __str__(self) -> str:
        return self.name


class ProjectWarning(models.Model):
    """A project's current light: its worst rule, with every reason."""

    project = models.OneToOneField(
        "projects.Project", models.CASCADE, related_name="warning", verbose_name=_("项目")
    )
    region = models.ForeignKey("org.Region", models.PROTECT, related_name="+", verbose_name=_("所在地区"))
    level = models.ForeignKey(WarningLevel, models.PROTECT, related_name="+", verbose_name=_("预警等级"))
    # [{"rule": "start", "level": "yellow", "reason": "计划3月开工，尚未开工"}, ...]
    reasons = models.JSONField(_("原因"), default=list)
    # The codes of the rules that fired, comma-wrapped (",start,deadline,"), so lists filter by rule
    # with a plain LIKE on any database: JSON containment is not available on SQLite.
    rules = models.CharField(_("触发规则"), max_length=200, blank=True, default="")
    # The day the light last left red; the recovery rule holds it yellow for a while from then.
    red_cleared_on = models.DateField(_("红灯解除日期"), null=True, blank=True)
    computed_at = models.DateTimeField(_("计算时间"))
    computed_on = models.DateField(_("计算日期"))

    class Meta:
        # (level, region): the list counts its lights per level and region and reads a page's
        # groups by them; computed_on: the list says when the lights were last computed.
        indexes = [models.Index(fields=["level", "region"]), models.Index(fields=["computed_on"])]
        verbose_name = _("项目预警")
        verbose_name_plural = _("项目预警")

    def __str__(self) -> str:
        return f"{self.project} · {self.level}"
