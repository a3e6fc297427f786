from django.contrib.auth.models import AbstractUser
from django.db import models
from django.urls import reverse
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
