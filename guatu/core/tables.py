import django_tables2 as tables
from django.utils.translation import gettext_lazy as _

from guatu.core.models import ChangeRecord, LoginRecord


class ChangeRecordTable(tables.Table):
    id = tables.Column(verbose_name="#")
    time = tables.DateTimeColumn(format="Y-m-d H:i:s")
    content_type = tables.Column(verbose_name=_("类型"), accessor="content_type__model")
    hash = tables.TemplateColumn("<code>{{ value|slice:':12' }}</code>", verbose_name=_("摘要"))
    fields = tables.TemplateColumn(
        "{{ record.changed_fields|join:', '|truncatechars:80 }}", verbose_name=_("变更字段"), orderable=False
    )

    class Meta:
        model = ChangeRecord
        fields = ("id", "time", "actor_name", "action", "content_type", "object_repr", "request_id", "hash")
        sequence = (
            "id",
            "time",
            "actor_name",
            "action",
            "content_type",
            "object_repr",
            "fields",
            "request_id",
        )
        attrs = {"class": "table table-vcenter card-table table-striped"}
        order_by = "-id"


class LoginRecordTable(tables.Table):
    id = tables.Column(verbose_name="#")
    time = tables.DateTimeColumn(format="Y-m-d H:i:s")
    user_agent = tables.TemplateColumn(
        "<span title='{{ value }}'>{{ value|truncatechars:40 }}</span>",
        verbose_name=_("浏览器"),
        orderable=False,
    )
    hash = tables.TemplateColumn(
        "<code>{{ value|slice:':12' }}</code>", verbose_name=_("摘要"), orderable=False
    )

    class Meta:
        model = LoginRecord
        fields = ("id", "time", "event", "username", "ip", "user_agent", "detail", "hash")
        attrs = {"class": "table table-vcenter card-table table-striped"}
        order_by = "-id"


# Columns a phone does without: shown from the md breakpoint up.
WIDE_ONLY = {
    "th": {"class": "d-none d-md-table-cell"},
    "td": {"class": "d-none d-md-table-cell text-nowrap"},
}
