"""The speech library, what was read out of each speech, and the supervised tasks (督办任务) it gave."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from guatu.core.models import TrackedModel


class SpeechDocument(TrackedModel):
    """One imported file or pasted text, kept exactly as read (after decoding): a compilation page
    may hold several speeches, and offsets printed by `guatu extract` point into this text."""

    name = models.CharField(_("文件名"), max_length=200)
    raw_text = models.TextField(_("原文"))
    sha256 = models.CharField(_("摘要"), max_length=64, db_index=True)
    compilation = models.CharField(_("汇编"), max_length=200, blank=True)
    page = models.CharField(_("页码"), max_length=20, blank=True)
    # What the page itself claims ("共计193730个字,预计阅读时长646分钟"), when it says so.
    stated_chars = models.PositiveIntegerField(_("页面所称字数"), null=True, blank=True)
    stated_minutes = models.PositiveIntegerField(_("页面所称阅读时长"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("讲话文件")
        verbose_name_plural = _("讲话文件")

    def __str__(self) -> str:
        return self.name


class Speech(TrackedModel):
    document = models.ForeignKey(
        SpeechDocument, models.CASCADE, related_name="speeches", verbose_name=_("来源文件")
    )
    title = models.CharField(_("标题"), max_length=300, blank=True)
    speaker = models.CharField(_("讲话人"), max_length=50, blank=True)
    position = models.CharField(_("职务"), max_length=100, blank=True)
    date = models.DateField(_("讲话日期"), null=True, blank=True)
    text = models.TextField(_("正文"), help_text=_("去掉网页杂项后的正文"))
    start = models.PositiveIntegerField(_("在原文中的起点"), default=0)
    end = models.PositiveIntegerField(_("在原文中的终点"), default=0)
    is_fragment = models.BooleanField(_("残篇"), default=False, help_text=_("从中间开始，没有标题"))
    chars = models.PositiveIntegerField(_("字数"), default=0)
    reading_minutes = models.PositiveIntegerField(_("阅读时长(分钟)"), default=0)
    # jieba tokens of the title and text, space-separated: what full-text search indexes on either
    # database (SQLite FTS5 table speeches_speech_fts; PostgreSQL GIN over to_tsvector('simple', …)).
    search_tokens = models.TextField(_("检索词"), blank=True, editable=False)
    extracted_at = models.DateTimeField(_("提取时间"), null=True, blank=True)
    version = models.PositiveIntegerField(_("版本"), default=1)

    class Meta:
        ordering = ["-date", "document_id", "start"]
        verbose_name = _("讲话")
        verbose_name_plural = _("讲话")

    def __str__(self) -> str:
        return self.title or str(_("（无标题残篇）"))


class ItemKind(models.TextChoices):
    TARGET = "target", _("目标")
    FACT = "fact", _("事实")
    FUNDING = "funding", _("资金")
    TASK = "task", _("任务")


class ReviewStatus(models.TextChoices):
    PROPOSED = "proposed", _("待审核")
    ACCEPTED = "accepted", _("已采纳")
    REJECTED = "rejected", _("已驳回")


class ExtractedItem(TrackedModel):
    """One quantitative commitment or dated action read out of a speech, as proposed and as reviewed.
    Offsets are into Speech.text."""

    speech = models.ForeignKey(Speech, models.CASCADE, related_name="items", verbose_name=_("讲话"))
    kind = models.CharField(_("类别"), max_length=10, choices=ItemKind.choices)
    metric = models.CharField(_("指标表述"), max_length=100, blank=True)
    value = models.DecimalField(_("数值"), max_digits=24, decimal_places=4, null=True, blank=True)
    value_max = models.DecimalField(_("上限"), max_digits=24, decimal_places=4, null=True, blank=True)
    unit = models.CharField(_("单位"), max_length=20, blank=True)
    comparator = models.CharField(_("比较"), max_length=8, blank=True)
    period = models.CharField(_("期间"), max_length=20, blank=True)
    deadline = models.DateField(_("完成时限"), null=True, blank=True)
    sentence = models.TextField(_("原句"))
    start = models.PositiveIntegerField(_("起点"))
    end = models.PositiveIntegerField(_("终点"))
    status = models.CharField(
        _("审核"), max_length=10, choices=ReviewStatus.choices, default=ReviewStatus.PROPOSED
    )
    # What a reviewer mapped an accepted target to, and what it became.
    target_metric = models.CharField(_("对应指标"), max_length=40, blank=True)
    target = models.ForeignKey(
        "targets.Target", models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("目标")
    )
    task = models.ForeignKey(
        "speeches.SupervisedTask",
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("督办任务"),
    )
    reject_reason = models.CharField(_("驳回理由"), max_length=200, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )
    reviewed_at = models.DateTimeField(_("审核时间"), null=True, blank=True)
    version = models.PositiveIntegerField(_("版本"), default=1)

    class Meta:
        ordering = ["speech_id", "start", "pk"]
        indexes = [models.Index(fields=["speech", "status"])]
        verbose_name = _("提取条目")
        verbose_name_plural = _("提取条目")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.metric} {self.value if self.value is not None else ''}"


class SupervisedTask(TrackedModel):
    """督办任务: a task a speech (or a task list imported from Excel) gives to units, with a lead
    leader and a deadline. It moves through the problems' status flow and climbs their escalation
    ladder when overdue (problems.ProblemStatus / ProblemTransition / EscalationLevel: one
    machinery for everything that is supervised)."""

    code = models.CharField(_("编号"), max_length=30, blank=True, help_text=_("如任务清单中的序号"))
    title = models.CharField(_("任务"), max_length=300)
    description = models.TextField(_("任务内容"), blank=True)
    category = models.CharField(_("类别"), max_length=50, blank=True, help_text=_("如 营商环境"))
    speech = models.ForeignKey(
        Speech, models.SET_NULL, null=True, blank=True, related_name="tasks", verbose_name=_("来源讲话")
    )
    source_sentence = models.TextField(_("原句"), blank=True)
    region = models.ForeignKey(
        "org.Region", models.PROTECT, related_name="+", verbose_name=_("地区"), help_text=_("全市或县(市)区")
    )
    lead_leader = models.CharField(_("牵头领导"), max_length=50, blank=True)
    owner_unit = models.ForeignKey(
        "org.Unit", models.PROTECT, related_name="owned_tasks", verbose_name=_("牵头单位")
    )
    supporting_units = models.ManyToManyField(
        "org.Unit", blank=True, related_name="supported_tasks", verbose_name=_("责任单位")
    )
    deadline = models.DateField(_("完成时限"))
    status = models.ForeignKey(
        "problems.ProblemStatus", models.PROTECT, related_name="+", verbose_name=_("状态")
    )
    level = models.ForeignKey(
        "problems.EscalationLevel", models.PROTECT, related_name="+", verbose_name=_("督办层级")
    )
    escalated_at = models.DateTimeField(_("上升时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("销号时间"), null=True, blank=True)
    progress = models.PositiveSmallIntegerField(_("进度(%)"), default=0)
    is_demo = models.BooleanField(_("演示数据"), default=False)
    version = models.PositiveIntegerField(_("版本"), default=1)

    class Meta:
        ordering = ["deadline", "pk"]
        indexes = [
            models.Index(fields=["region", "status"]),
            models.Index(fields=["owner_unit", "status"]),
            models.Index(fields=["deadline"]),
        ]
        verbose_name = _("督办任务")
        verbose_name_plural = _("督办任务")

    def __str__(self) -> str:
        return self.title


class TaskNote(models.Model):
    """One step on a task's timeline: a progress note, a status change, an escalation."""

    task = models.ForeignKey(SupervisedTask, models.CASCADE, related_name="notes", verbose_name=_("任务"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("操作人"),
    )
    at = models.DateTimeField(_("时间"))
    action = models.CharField(_("动作"), max_length=20, help_text=_("note、流程动作代码或 escalate"))
    from_status = models.ForeignKey(
        "problems.ProblemStatus", models.PROTECT, null=True, blank=True, related_name="+"
    )
    to_status = models.ForeignKey(
        "problems.ProblemStatus", models.PROTECT, null=True, blank=True, related_name="+"
    )
    progress = models.PositiveSmallIntegerField(_("进度(%)"), null=True, blank=True)
    text = models.TextField(_("说明"), blank=True)

    class Meta:
        ordering = ["at", "pk"]
        verbose_name = _("任务进展")
        verbose_name_plural = _("任务进展")

    def __str__(self) -> str:
        return f"{self.task} · {self.action}"
