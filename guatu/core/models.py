from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils.translation import gettext_lazy as _


class TrackedModel(models.Model):
    """Base for domain rows: who made and last changed the row, and when."""

    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )

    class Meta:
        abstract = True


class ChangeRecord(models.Model):
    """One create, update or delete, chained to the previous record by a hash.

    Rows are only ever appended; `guatu audit_verify` recomputes the chain.
    """

    class Action(models.TextChoices):
        CREATE = "create", _("新建")
        UPDATE = "update", _("修改")
        DELETE = "delete", _("删除")

    time = models.DateTimeField(_("时间"), db_index=True)
    # The actor's id is part of the hashed record, so deleting a user must not rewrite it:
    # no database constraint, nothing cascades (accounts are deactivated, not deleted).
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.DO_NOTHING,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
    )
    actor_name = models.CharField(_("操作人"), max_length=150, blank=True)
    request_id = models.CharField(_("请求编号"), max_length=64, blank=True, db_index=True)
    action = models.CharField(_("操作"), max_length=10, choices=Action.choices)
    content_type = models.ForeignKey(ContentType, models.PROTECT, related_name="+")
    object_id = models.CharField(_("对象编号"), max_length=64, db_index=True)
    object_repr = models.CharField(_("对象"), max_length=300)
    before = models.JSONField(_("修改前"), null=True, blank=True)
    after = models.JSONField(_("修改后"), null=True, blank=True)
    prev_hash = models.CharField(_("上一记录摘要"), max_length=64)
    hash = models.CharField(_("摘要"), max_length=64, unique=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["content_type", "object_id", "id"])]
        verbose_name = _("变更记录")
        verbose_name_plural = _("变更记录")

    def __str__(self) -> str:
        return f"#{self.pk} {self.action} {self.object_repr}"

    @property
    def changed_fields(self) -> list[str]:
        before, after = self.before or {}, self.after or {}
        return sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))


class LoginRecord(models.Model):
    """One login, failure, lockout, logout or password change, chained like ChangeRecord on a chain
    of its own (登录日志). Rows are only ever appended."""

    class Event(models.TextChoices):
        LOGIN = "login", _("登录成功")
        FAILED = "failed", _("登录失败")
        LOCKED = "locked", _("账号锁定")
        LOGOUT = "logout", _("退出")
        PASSWORD_CHANGED = "password_changed", _("修改密码")
        OTHER_BROWSER = "other_browser", _("异地/另一浏览器登录")
        OTP_FAILED = "otp_failed", _("动态口令错误")

    time = models.DateTimeField(_("时间"), db_index=True)
    event = models.CharField(_("事件"), max_length=20, choices=Event.choices)
    username = models.CharField(_("用户名"), max_length=150, db_index=True)
    # As ChangeRecord.actor: the id is hashed, so nothing may cascade into it.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.DO_NOTHING,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
    )
    ip = models.GenericIPAddressField(_("IP 地址"), null=True, blank=True)
    user_agent = models.CharField(_("浏览器"), max_length=300, blank=True)
    detail = models.TextField(_("说明"), blank=True)
    prev_hash = models.CharField(_("上一记录摘要"), max_length=64)
    hash = models.CharField(_("摘要"), max_length=64, unique=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("登录日志")
        verbose_name_plural = _("登录日志")

    def __str__(self) -> str:
        return f"#{self.pk} {self.event} {self.username}"


class ChainHead(models.Model):
    """Where each hash chain ends, moved with every append under the chain's lock: a chain alone
    cannot show that its newest records were deleted, the head can. The anchor is where the chain
    now starts after older records were archived and purged (`guatu audit_purge`).

    One row per chain; each append replaces it by a new row (see changelog._move_head), so the chain
    name is not unique while a transaction holds both."""

    chain = models.CharField(_("链"), max_length=20)
    last_hash = models.CharField(_("最后一条记录的摘要"), max_length=64)
    count = models.BigIntegerField(_("库中记录数"), default=0)
    anchor_hash = models.CharField(_("起点摘要"), max_length=64)
    purged = models.BigIntegerField(_("已归档清理记录数"), default=0)

    class Meta:
        indexes = [models.Index(fields=["chain", "id"])]
        verbose_name = _("哈希链头")
        verbose_name_plural = _("哈希链头")

    def __str__(self) -> str:
        return f"{self.chain}: {self.count}"


class ImportJob(TrackedModel):
    """An Excel import: validated (dry run), then committed all or nothing; may run in the background."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("排队中")
        RUNNING = "running", _("处理中")
        VALIDATED = "validated", _("已校验")
        INVALID = "invalid", _("有错误")
        COMMITTED = "committed", _("已导入")
        FAILED = "failed", _("失败")

    kind = models.CharField(_("导入类型"), max_length=40)
    file = models.FileField(_("文件"), upload_to="imports/%Y/%m/")
    filename = models.CharField(_("文件名"), max_length=255)
    status = models.CharField(_("状态"), max_length=12, choices=Status.choices, default=Status.QUEUED)
    commit = models.BooleanField(_("正式导入"), default=False)
    total = models.PositiveIntegerField(_("总行数"), default=0)
    done = models.PositiveIntegerField(_("已处理"), default=0)
    errors = models.JSONField(_("错误"), default=list, blank=True)
    created_count = models.PositiveIntegerField(_("新增"), default=0)
    updated_count = models.PositiveIntegerField(_("更新"), default=0)
    message = models.TextField(_("说明"), blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("导入任务")
        verbose_name_plural = _("导入任务")

    def __str__(self) -> str:
        return f"{self.filename} ({self.get_status_display()})"

    @property
    def percent(self) -> int:
        return int(self.done * 100 / self.total) if self.total else 0

    @property
    def finished(self) -> bool:
        return self.status in {
            self.Status.VALIDATED,
            self.Status.INVALID,
            self.Status.COMMITTED,
            self.Status.FAILED,
        }
