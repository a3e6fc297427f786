"""Tables of the attraction app (django-tables2)."""

import django_tables2 as tables
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from guatu.attraction.models import Lead
from guatu.attraction.services import screening_failures

# --- leads


def screening_badge(lead: Lead) -> str:
    """研判未通过 (the reasons on hover), 待研判 when only the industry fit is still open, else nothing."""
    reasons = screening_failures(lead)
    if not reasons:
        return ""
    if reasons == [_("产业契合尚未研判")]:
        return format_html('<span class="badge bg-yellow-lt" title="{}">{}</span>', reasons[0], _("待研判"))
    return format_html(
        '<span class="badge bg-red-lt" title="{}" data-bs-toggle="tooltip">{}</span>',
        "；".join(reasons),
        _("研判未通过"),
    )


class LeadTable(tables.Table):
    name = tables.Column(linkify=True, attrs={"td": {"class": "cell-name"}})
    investor = tables.Column()
    chain = tables.Column(accessor="chain__name", verbose_name=gettext_lazy("产业链"))
    stage = tables.Column(order_by="stage__order")
    screening = tables.Column(
        accessor="industry_fit", verbose_name=gettext_lazy("研判"), orderable=False, empty_values=()
    )
    amount = tables.Column(attrs={"td": {"class": "text-end text-nowrap"}})
    region = tables.Column(order_by="region__code")
    attracting_unit = tables.Column(accessor="attracting_unit__name", verbose_name=gettext_lazy("招商单位"))
    expected_signing = tables.DateColumn(format="Y-m-d", default="—")

    class Meta:
        model = Lead
        fields = (
            "name", "investor", "chain", "stage", "screening", "amount", "region", "attracting_unit",
            "expected_signing",
        )  # fmt: skip
        attrs = {"class": "table table-vcenter card-table table-striped"}
        order_by = "-id"
        empty_text = gettext_lazy("没有符合条件的线索")

    def render_stage(self, value, record):
        dropped = (
            format_html(' <span class="badge bg-secondary-lt">{}</span>', _("已放弃"))
            if record.dropped_at
            else ""
        )
        return format_html(
            '<span class="badge bg-{}-lt">{}</span>{}', record.stage.color, record.stage.name, dropped
        )

    def render_screening(self, value, record):
        return screening_badge(record) or "—"

    def render_region(self, value):
        return value.label


# --- funnel and chain map
