"""Targets (目标), pledges (军令状), quarter phases and scoring schemes (考核细则).

A target's actual is never stored: it is computed from project facts by the metric catalogue in
`metrics.py`. Phases and schemes are rows (data), seeded by migrations and edited by the project
office."""

from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from guatu.core.models import TrackedModel


class Comparator(models.TextChoices):
    GE = "ge", "≥"
    EQ = "eq", "="
    LE = "le", "≤"


class PeriodKind(models.TextChoices):
    MONTH = "month", _("月")
    QUARTER = "quarter", _("季")
    YEAR = "year", _("年")


class Pledge(TrackedModel):
    """军令状: a unit's signed commitment; its targets name it."""

    unit = models.ForeignKey("org.Unit", models.PROTECT, related_name="pledges", verbose_name=_("立状单位"))
    region = models.ForeignKey(
        "org.Region", models.PROTECT, related_name="+", verbose_name=_("所在地区"), help_text=_("随立状单位")
    )
    title = models.CharField(_("标题"), max_length=200)
    signer = models.CharField(_("签署人"), max_length=50)
    signer_title = models.CharField(_("签署人职务"), max_length=100, blank=True)
    signed_on = models.DateField(_("签署日期"))
    text = models.TextField(_("承诺内容"), blank=True)
    is_demo = models.BooleanField(_("演示数据"), default=False)
    version = models.PositiveIntegerField(_("版本"), default=1)

    class Meta:
        verbose_name = _("军令状")
        verbose_name_plural = _("军令状")
        ordering = ["-signed_on", "unit__name"]

    def __str__(self) -> str:
        return f"{self.unit}：{self.title}"

    def get_absolute_url(self) -> str:
        return reverse("targets:pledge_detail", args=[self.pk])


class Target(TrackedModel):
    """A metric, a scope (a region: the city or a county; or a unit: a zone or a department),
    a period, a comparator and a value. A city target may be split into county parts (parent)."""

    metric = models.CharField(_("指标"), max_length=40, db_index=True)
    region = models.ForeignKey(
        "org.Region", models.PROTECT, null=True, blank=True, related_name="targets", verbose_name=_("地区")
    )
    unit = models.ForeignKey(
        "org.Unit", models.PROTECT, null=True, blank=True, related_name="targets", verbose_name=_("单位"),
        help_text=_("开发区或市直部门的目标填单位；市、县(市)区的目标填地区"),
    )  # fmt: skip
    period = models.CharField(_("期间"), max_length=8, help_text=_("2026、2026Q1 或 2026-03"))
    period_kind = models.CharField(_("期间类型"), max_length=8, choices=PeriodKind.choices, editable=False)
    start = models.DateField(_("起始日"), editable=False)
    end = models.DateField(_("截止日"), editable=False)
    comparator = models.CharField(_("比较"), max_length=2, choices=Comparator.choices, default=Comparator.GE)
    value = models.DecimalField(_("目标值"), max_digits=14, decimal_places=2)
    parent = models.ForeignKey(
        "self", models.CASCADE, null=True, blank=True, related_name="parts", verbose_name=_("分解自")
    )
    pledge = models.ForeignKey(
        Pledge, models.SET_NULL, null=True, blank=True, related_name="targets", verbose_name=_("军令状")
    )
    source = models.CharField(_("出处"), max_length=300, blank=True, help_text=_("讲话或文件中的原文"))
    is_demo = models.BooleanField(_("演示数据"), default=False)
    version = models.PositiveIntegerField(_("版本"), default=1)

    class Meta:
        verbose_name = _("目标")
        verbose_name_plural = _("目标")
        ordering = ["start", "metric", "region__code", "unit__name"]
        indexes = [models.Index(fields=["start", "end"]), models.Index(fields=["region", "start"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(region__isnull=True) ^ models.Q(unit__isnull=True), name="target_one_scope"
            ),
        ]

    def __str__(self) -> str:
        from guatu.targets.metrics import metric_name

        return f"{self.scope_label} {self.period} {metric_name(self.metric)} {self.get_comparator_display()} {self.value.normalize():f}"

    def get_absolute_url(self) -> str:
        return reverse("targets:target_detail", args=[self.pk])

    @property
    def scope_label(self) -> str:
        if self.region_id:
            return self.region.label
        return self.unit.name


class QuarterPhase(models.Model):
    """一季度比开门红, 二季度比双过半, 三季度比攻坚, 四季度比收官: each quarter's name and the
    metrics it is judged on first."""

    quarter = models.PositiveSmallIntegerField(_("季度"), unique=True)
    name = models.CharField(_("名称"), max_length=20)
    slogan = models.CharField(_("口号"), max_length=100, blank=True)
    headline_metrics = models.JSONField(_("主要指标"), default=list)
    description = models.CharField(_("说明"), max_length=300, blank=True)
    color = models.CharField(_("颜色"), max_length=20, default="red")

    class Meta:
        verbose_name = _("季度主题")
        verbose_name_plural = _("季度主题")
        ordering = ["quarter"]

    def __str__(self) -> str:
        return f"Q{self.quarter} {self.name}"


class SchemeGroup(models.TextChoices):
    COUNTY = "county", _("县(市)区及开发区")
    DEPARTMENT = "department", _("市直部门")


class ScoringScheme(TrackedModel):
    """考核细则 of one year, versioned: a new version replaces the old without rewriting history."""

    year = models.PositiveSmallIntegerField(_("年度"))
    version = models.PositiveSmallIntegerField(_("版本"), default=1)
    group = models.CharField(
        _("考核对象"), max_length=12, choices=SchemeGroup.choices, default=SchemeGroup.COUNTY
    )
    name = models.CharField(_("名称"), max_length=100)
    ranking_bonuses = models.JSONField(
        _("名次加分"), default=list, blank=True, help_text=_("前几名依次加的分，如 [7, 5, 3]")
    )
    is_active = models.BooleanField(_("启用"), default=True)
    note = models.TextField(_("说明"), blank=True)

    class Meta:
        verbose_name = _("考核方案")
        verbose_name_plural = _("考核方案")
        ordering = ["-year", "group", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["year", "group", "version"], name="one_scheme_version"),
        ]

    def __str__(self) -> str:
        return f"{self.year} {self.name}（v{self.version}）"


class ItemKind(models.TextChoices):
    WEIGHTED = "weighted", _("权重计分")  # weight × (actual ÷ target), capped
    COUNT = "count", _("按数计分")  # points per unit of the actual, capped
    DEDUCTION = "deduction", _("扣分")  # minus points per unit of the actual, floored


class SchemeItem(models.Model):
    scheme = models.ForeignKey(
        ScoringScheme, models.CASCADE, related_name="items", verbose_name=_("考核方案")
    )
    order = models.PositiveSmallIntegerField(_("顺序"), default=0)
    metric = models.CharField(_("指标"), max_length=40)
    label = models.CharField(_("名称"), max_length=50, blank=True)
    kind = models.CharField(_("计分方式"), max_length=10, choices=ItemKind.choices, default=ItemKind.WEIGHTED)
    weight = models.DecimalField(_("权重(分)"), max_digits=6, decimal_places=2, default=0)
    per = models.DecimalField(_("每个计分"), max_digits=6, decimal_places=2, default=0)
    ratio_cap = models.DecimalField(
        _("完成率上限"), max_digits=5, decimal_places=2, null=True, blank=True,
        help_text=_("权重计分时完成率最多按此计，如 1.2 即 120%"),
    )  # fmt: skip
    cap = models.DecimalField(
        _("封顶(分)"), max_digits=6, decimal_places=2, null=True, blank=True,
        help_text=_("本项得分（或扣分）的绝对值上限"),
    )  # fmt: skip

    class Meta:
        verbose_name = _("考核项")
        verbose_name_plural = _("考核项")
        ordering = ["scheme", "order"]

    def __str__(self) -> str:
        return self.label or self.metric


class ProjectRollup(models.Model):
    """One project's share of the rollups as last applied, and the event days it was computed from.

    Kept so a change to the project can be applied as a difference (new share minus this one)
    instead of a rescan, and so the few figures that cut a month at today can be corrected by an
    indexed range over event days. No foreign-key constraint: the row outlives its project's
    deletion just long enough for that deletion's share to be taken off."""

    project = models.OneToOneField(
        "projects.Project", models.DO_NOTHING, primary_key=True, db_constraint=False, related_name="+"
    )
    region = models.IntegerField(default=0)  # where the share was counted (ids, not keys: see above)
    chain = models.IntegerField(default=0)
    kind = models.CharField(max_length=20, blank=True)
    signed_day = models.DateField(null=True)
    started_day = models.DateField(null=True)
    completed_day = models.DateField(null=True)
    in_production_day = models.DateField(null=True)
    at_capacity_day = models.DateField(null=True)
    planned_start = models.DateField(null=True)
    planned_completion = models.DateField(null=True)
    late_start = models.BooleanField(default=False)
    units = models.JSONField(default=list)  # the departments it also counts for
    share = models.JSONField(default=list)  # [[measure, month, value], …] for each of those

    class Meta:
        indexes = [
            models.Index(fields=[f], name=f"rollup_fact_{f}")
            for f in ("signed_day", "started_day", "completed_day", "in_production_day",
                      "at_capacity_day", "planned_start", "planned_completion")
        ]  # fmt: skip

    def __str__(self) -> str:
        return f"share of project #{self.project_id}"


class Rollup(models.Model):
    """A sum over projects per (unit, region, chain, kind, measure, month): what the war map,
    rankings, targets and bulletin read instead of scanning projects.

    unit 0 holds the region's figures; unit N the same figures of the projects unit N is a
    department of. chain 0 and kind "" are projects without them. Stock measures (project count,
    planned investment, stage, light) sit on month STOCK; flows (events, investment done) on the
    first day of their month. Values are integers: counts, or amounts in hundredths of 万元, so that
    sums are exact on every database."""

    unit = models.IntegerField()
    region = models.IntegerField()
    chain = models.IntegerField()
    kind = models.CharField(max_length=20)
    measure = models.CharField(max_length=40)
    month = models.DateField()
    value = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["measure", "unit", "month", "region", "chain", "kind"], name="rollup_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.measure} {self.month} unit {self.unit} region {self.region} = {self.value}"
