from django.contrib.auth.models import AbstractUser
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    # A new account has no role until the security administrator grants one (三员分立).
    NONE = "", _("未授权")
    CITY_ADMIN = "city_admin", _("项目办")
    COUNTY = "county", _("县(市)区")
    DEPARTMENT = "department", _("市直部门")
    ENTERPRISE = "enterprise", _("项目单位")
    STEWARD = "steward", _("项目管家")
    LEADER = "leader", _("领导")
    SYSADMIN = "sysadmin", _("系统管理员")
    SECADMIN = "secadmin", _("安全管理员")
    AUDITOR = "auditor", _("审计管理员")


# 三员分立: the three administrators handle no business data.
THREE_ADMINS = frozenset({Role.SYSADMIN, Role.SECADMIN, Role.AUDITOR})
BUSINESS_ROLES = frozenset(set(Role) - THREE_ADMINS - {Role.NONE})


class User(AbstractUser):
    role = models.CharField(_("角色"), max_length=20, choices=Role.choices, default=Role.NONE, blank=True)
    region = models.ForeignKey(
        "org.Region", models.PROTECT, null=True, blank=True, related_name="users", verbose_name=_("所属地区")
    )
    unit = models.ForeignKey(
        "org.Unit", models.PROTECT, null=True, blank=True, related_name="users", verbose_name=_("所属单位")
    )
    phone = models.CharField(_("电话"), max_length=30, blank=True)
    # Optimistic concurrency: two administrators editing one account never overwrite each other.
    version = models.PositiveIntegerField(_("版本"), default=1)
    # 等保: passwords expire, may not repeat the last ones, and one set by an administrator must be
    # changed by its owner at the next login.
    password_changed_at = models.DateTimeField(_("密码修改时间"), default=timezone.now)
    previous_passwords = models.JSONField(_("历史密码摘要"), default=list, blank=True, editable=False)
    must_change_password = models.BooleanField(_("下次登录须修改密码"), default=False)
    # The session of the last login: a login while it is still live comes from another browser.
    last_session_key = models.CharField(max_length=40, blank=True, editable=False)

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")

    def __str__(self) -> str:
        full = f"{self.last_name}{self.first_name}".strip()
        return full or self.username

    def get_absolute_url(self) -> str:
        return reverse("accounts:user_detail", args=[self.pk])

    @property
    def is_business(self) -> bool:
        return self.role in BUSINESS_ROLES

    def set_password(self, raw_password):
        # Every path that sets a password (services, tests, the demo) keeps the history and the date.
        old = self.password
        super().set_password(raw_password)
        if old and self.has_usable_password():
            keep = PASSWORD_HISTORY - 1  # the current one is the fifth
            self.previous_passwords = [old, *self.previous_passwords][:keep]
        self.password_changed_at = timezone.now()


PASSWORD_HISTORY = 5
# Roles that must pass a second factor when GUATU_REQUIRE_2FA is on: they can change the whole system.
SECOND_FACTOR_ROLES = frozenset({Role.CITY_ADMIN, *THREE_ADMINS})


class SecurityPolicy(models.Model):
    """The security settings the security administrator keeps (one row). Defaults are 等保 level 3."""

    idle_minutes = models.PositiveIntegerField(
        _("会话空闲超时（分钟）"), default=10, validators=[MinValueValidator(1), MaxValueValidator(30)]
    )
    password_max_age_days = models.PositiveIntegerField(
        _("密码有效期（天）"), default=90, validators=[MinValueValidator(1), MaxValueValidator(90)]
    )
    lockout_failures = models.PositiveIntegerField(
        _("连续失败锁定次数"), default=5, validators=[MinValueValidator(3), MaxValueValidator(10)]
    )
    lockout_minutes = models.PositiveIntegerField(
        _("锁定时长（分钟）"), default=30, validators=[MinValueValidator(10), MaxValueValidator(1440)]
    )
    version = models.PositiveIntegerField(_("版本"), default=1)

    class Meta:
        verbose_name = _("安全策略")
        verbose_name_plural = _("安全策略")

    def __str__(self) -> str:
        return str(_("安全策略"))
