import django_tables2 as tables
from django.utils.translation import gettext_lazy as _

from guatu.accounts.models import User

NOWRAP = {"td": {"class": "text-nowrap"}}


class UserTable(tables.Table):
    username = tables.Column(linkify=True, attrs={"td": {"class": "font-monospace"}})
    name = tables.Column(
        accessor="last_name", verbose_name=_("姓名"), order_by=("last_name", "first_name"), attrs=NOWRAP
    )
    role = tables.TemplateColumn(
        "{% load i18n %}{% if record.role %}{{ record.get_role_display }}"
        '{% else %}<span class="badge bg-yellow-lt">{% translate "未授权" %}</span>{% endif %}',
        attrs=NOWRAP,
    )
    region = tables.Column(accessor="region__name", default="—", verbose_name=_("所属地区"))
    unit = tables.Column(accessor="unit__name", default="—", verbose_name=_("所属单位"))
    is_active = tables.TemplateColumn(
        '{% load i18n %}{% if record.is_active %}<span class="badge bg-green-lt">{% translate "启用" %}</span>'
        '{% else %}<span class="badge bg-secondary-lt">{% translate "停用" %}</span>{% endif %}',
        verbose_name=_("状态"),
    )
    last_login = tables.DateTimeColumn(format="Y-m-d H:i", default="—")

    def render_name(self, record):
        return f"{record.last_name}{record.first_name}" or "—"

    class Meta:
        model = User
        fields = ("username", "name", "role", "region", "unit", "is_active", "last_login")
        attrs = {"class": "table table-vcenter card-table table-striped"}
        order_by = "username"
        empty_text = _("没有符合条件的账号")
