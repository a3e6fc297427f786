"""招商引资: investment leads along the industry chains, their stages (as data), screening,
funds in place, and the chain map (links, 链主)."""

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from guatu.core.models import TrackedModel


class LeadStage(models.Model):
    """线索 → 洽谈 → 框架协议 → 正式签约 → 注册落户 → 开工 → 投产."""

    code = models.CharField(_("代码"), max_length=20, unique=True)
    name = models.CharField(_("名称"), max_length=20)
    order = models.PositiveSmallIntegerField(_("顺序"), unique=True)
    color = models.CharField(_("颜色"), max_length=20, default="secondary")

    class Meta:
        verbose_name = _("招商阶段")
        verbose_name_plural = _("招商阶段")
        ordering = ["order"]

    def __str__(self) -> str:
        return self.name


class LinkPosition(models.TextChoices):
    UPSTREAM = "upstream", _("上游")
    MIDSTREAM = "midstream", _("中游")
    DOWNSTREAM = "downstream", _("下游")


class ChainLink(models.Model):
    """A link (环节) of an industry chain; enterprises present on it, or none (a 补链 target)."""

    chain = models.ForeignKey("org.Chain", models.CASCADE, related_name="links", verbose_name=_("产业链"))
    name = models.CharField(_("环节"), max_length=50)
    position = models.CharField(_("位置"), max_length=12, choices=LinkPosition.choices)
    order = models.PositiveSmallIntegerField(_("顺序"), default=0)
    enterprises = models.ManyToManyField(
        "org.Unit", blank=True, related_name="chain_links", verbose_name=_("在链企业")
    )
    is_demo = models.BooleanField(_("演示数据"), default=False)

    class Meta:
        verbose_name = _("产业链环节")
        verbose_name_plural = _("产业链环节")
        ordering = ["chain", "position", "order"]
        constraints = [models.UniqueConstraint(fields=["chain", "name"], name="one_link_name_per_chain")]

    def __str__(self) -> str:
        return f"{self.chain}·{self.name}"


class ChainLeader(models.Model):
    """链主: the enterprise that leads a chain."""

    chain = models.ForeignKey("org.Chain", models.CASCADE, related_name="leaders", verbose_name=_("产业链"))
    unit = models.ForeignKey(
        "org.Unit", models.PROTECT, related_name="led_chains", verbose_name=_("链主企业")
    )
    note = models.CharField(_("说明"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("链主企业")
        verbose_name_plural = _("链主企业")
        constraints = [models.UniqueConstraint(fields=["chain", "unit"], name="one_leader_row")]

    def __str__(self) -> str:
        return f"{self.chain}：{self.unit}"


class ScreeningResult(models.TextChoices):
    PENDING = "pending", _("待审")
    PASSED = "passed", _("通过")
    FAILED = "failed", _("未通过")


class Relocation(models.TextChoices):
    NONE = "none", _("非转移项目")
    SPILLOVER = "spillover", _("溢出")  # capacity a region shares outward: welcome
    SQUEEZED = "squeezed", _("挤出")  # capacity another region is shedding: refused


class Lead(TrackedModel):
    name = models.CharField(_("项目名称"), max_length=200)
    investor = models.CharField(_("投资方"), max_length=200)
    investor_region = models.CharField(
        _("投资方所在地"), max_length=50, help_text=_("如 北京市、天津市、河北省")
    )
    chain = models.ForeignKey("org.Chain", models.PROTECT, related_name="leads", verbose_name=_("产业链"))
    link = models.ForeignKey(
        ChainLink, models.SET_NULL, null=True, blank=True, related_name="leads", verbose_name=_("产业链环节")
    )
    position = models.CharField(_("链上位置"), max_length=12, choices=LinkPosition.choices, blank=True)
    amount = models.DecimalField(_("意向投资(万元)"), max_digits=14, decimal_places=2)
    attracting_unit = models.ForeignKey(
        "org.Unit", models.PROTECT, related_name="attracted_leads", verbose_name=_("招商单位")
    )
    region = models.ForeignKey(
        "org.Region", models.PROTECT, related_name="+", verbose_name=_("拟落地县(市)区")
    )
    contact_name = models.CharField(_("联系人"), max_length=50, blank=True)
    contact_phone = models.CharField(_("联系电话"), max_length=30, blank=True)
    expected_signing = models.DateField(_("预计签约日期"), null=True, blank=True)
    stage = models.ForeignKey(LeadStage, models.PROTECT, related_name="leads", verbose_name=_("阶段"))
    # Screening before signing (研判): any failure blocks signing until it is cleared.
    industry_fit = models.CharField(
        _("产业契合"), max_length=10, choices=ScreeningResult.choices, default=ScreeningResult.PENDING
    )
    relocation = models.CharField(
        _("转移类型"), max_length=10, choices=Relocation.choices, default=Relocation.NONE
    )
    is_two_high = models.BooleanField(_("两高项目"), default=False)
    is_six_small = models.BooleanField(_("六小项目"), default=False)
    land_mu = models.DecimalField(_("用地(亩)"), max_digits=10, decimal_places=2, null=True, blank=True)
    energy_tce = models.DecimalField(
        _("年综合能耗(吨标准煤)"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    screening_note = models.TextField(_("研判意见"), blank=True)
    dropped_at = models.DateField(_("放弃日期"), null=True, blank=True)
    drop_reason = models.CharField(_("放弃原因"), max_length=300, blank=True)
    project = models.OneToOneField(
        "projects.Project",
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="lead",
        verbose_name=_("入库项目"),
    )
    is_demo = models.BooleanField(_("演示数据"), default=False)
    version = models.PositiveIntegerField(_("版本"), default=1)

    class Meta:
        verbose_name = _("招商线索")
        verbose_name_plural = _("招商线索")
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["region", "stage"]),
            models.Index(fields=["chain", "stage"]),
            models.Index(fields=["attracting_unit", "stage"]),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("attraction:lead_detail", args=[self.pk])


class LeadStageChange(models.Model):
    """The day a lead entered a stage (the funnel's time in stage reads these), or was dropped."""

    lead = models.ForeignKey(Lead, models.CASCADE, related_name="stage_changes", verbose_name=_("线索"))
    from_stage = models.ForeignKey(
        LeadStage, models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("原阶段")
    )
    to_stage = models.ForeignKey(LeadStage, models.PROTECT, related_name="+", verbose_name=_("新阶段"))
    on = models.DateField(_("日期"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("操作人"),
    )
    note = models.CharField(_("说明"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("阶段变更")
        verbose_name_plural = _("阶段变更")
        ordering = ["on", "id"]

    def __str__(self) -> str:
        return f"{self.lead_id} → {self.to_stage_id} {self.on}"


class FundsInPlace(TrackedModel):
    """到位资金: a dated amount received against a signed lead."""

    lead = models.ForeignKey(Lead, models.CASCADE, related_name="funds", verbose_name=_("线索"))
    region = models.ForeignKey("org.Region", models.PROTECT, related_name="+", verbose_name=_("所在地区"))
    received_on = models.DateField(_("到位日期"))
    amount = models.DecimalField(_("到位资金(万元)"), max_digits=14, decimal_places=2)
    note = models.CharField(_("说明"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("到位资金")
        verbose_name_plural = _("到位资金")
        ordering = ["received_on", "id"]

    def __str__(self) -> str:
        return f"{self.lead} {self.received_on} {self.amount}"
