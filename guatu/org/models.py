from django.db import models
from django.utils.translation import gettext_lazy as _

from guatu.core.models import TrackedModel


class Region(models.Model):
    """An administrative division (GB/T 2260) of the configured city, or the city itself."""

    class Level(models.TextChoices):
        CITY = "city", _("市")
        COUNTY = "county", _("县(市)区")

    code = models.CharField(_("行政区划代码"), max_length=6, unique=True)
    name = models.CharField(_("名称"), max_length=50)
    short_name = models.CharField(_("简称"), max_length=20, blank=True)
    pinyin = models.CharField(_("拼音"), max_length=40, blank=True)
    level = models.CharField(_("级别"), max_length=10, choices=Level.choices)
    parent = models.ForeignKey(
        "self", models.PROTECT, null=True, blank=True, related_name="children", verbose_name=_("上级")
    )
    # Bounding box (from the city's map outline) used to check project coordinates.
    min_lat = models.FloatField(null=True, blank=True)
    max_lat = models.FloatField(null=True, blank=True)
    min_lon = models.FloatField(null=True, blank=True)
    max_lon = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("地区")
        verbose_name_plural = _("地区")

    def __str__(self) -> str:
        return self.name

    @property
    def label(self) -> str:
        return self.short_name or self.name


class Unit(TrackedModel):
    """A body that owns or handles projects: county government, development zone, department, enterprise."""

    class Kind(models.TextChoices):
        COUNTY = "county", _("县(市)区政府")
        ZONE = "zone", _("开发区")
        DEPARTMENT = "department", _("市直部门")
        ENTERPRISE = "enterprise", _("项目单位")

    name = models.CharField(_("名称"), max_length=100, unique=True)
    kind = models.CharField(_("类型"), max_length=12, choices=Kind.choices)
    region = models.ForeignKey(Region, models.PROTECT, related_name="units", verbose_name=_("所在地区"))
    contact = models.CharField(_("联系人"), max_length=50, blank=True)
    phone = models.CharField(_("电话"), max_length=30, blank=True)
    is_demo = models.BooleanField(_("演示数据"), default=False)

    class Meta:
        ordering = ["kind", "name"]
        verbose_name = _("单位")
        verbose_name_plural = _("单位")

    def __str__(self) -> str:
        return self.name


class Chain(TrackedModel):
    """An industry chain (产业链) of the city's plan."""

    name = models.CharField(_("名称"), max_length=50, unique=True)
    sector = models.CharField(_("所属板块"), max_length=50, blank=True)
    order = models.PositiveSmallIntegerField(_("排序"), default=0)
    is_demo = models.BooleanField(_("演示数据"), default=False)

    class Meta:
        ordering = ["order", "name"]
        verbose_name = _("产业链")
        verbose_name_plural = _("产业链")

    def __str__(self) -> str:
        return self.name
