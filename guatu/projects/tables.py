import django_tables2 as tables
from django.utils.translation import gettext_lazy as _

from guatu.projects.models import Project


class ProjectTable(tables.Table):
    code = tables.Column(linkify=True, attrs={"td": {"class": "text-nowrap font-monospace small"}})

    def render_region(self, value):
        return value.label

    name = tables.Column(linkify=True, attrs={"td": {"class": "cell-name"}})
    region = tables.Column(accessor="region", order_by="region__code", verbose_name=_("所在地区"))
    stage = tables.TemplateColumn(
        '<span class="badge bg-{{ record.stage.color }}-lt">{{ record.stage.name }}</span>',
        order_by="stage__order",
    )
    chain = tables.Column(accessor="chain__name", default="—", verbose_name=_("产业链"))
    kind = tables.Column(attrs={"td": {"class": "text-nowrap"}})
    total_investment = tables.Column(attrs={"td": {"class": "text-end"}})
    annual_planned_investment = tables.Column(attrs={"td": {"class": "text-end"}})
    planned_start = tables.DateColumn(format="Y-m-d", default="—")

    class Meta:
        model = Project
        fields = (
            "code", "name", "region", "stage", "chain", "kind", "total_investment",
            "annual_planned_investment", "planned_start",
        )  # fmt: skip
        attrs = {"class": "table table-vcenter card-table table-striped"}
        order_by = "-id"
        empty_text = _("没有符合条件的项目")
