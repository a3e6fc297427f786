"""The monthly-report panel of the project page: the S-curve (planned versus actual cumulative
investment) and the project's reports."""

from decimal import Decimal

from django import template
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from guatu.core.permissions import can
from guatu.progress import selectors
from guatu.progress.models import MonthlyReport
from guatu.progress.services import percent_text

register = template.Library()


@register.filter
def percent(value) -> str:
    """形象进度 as people write it: 62 → "62", 62.50 → "62.5"."""
    return "" if value is None else percent_text(value)


@register.simple_tag(takes_context=True)
def project_reports(context, project):
    request = context.get("request")
    user = getattr(request, "user", None)
    if not can(user, "view", MonthlyReport):
        return ""
    today = timezone.localdate()
    reports = selectors.project_reports(user=user, project=project)  # latest first, with cumulative
    chart = selectors.scurve_data(project=project, reports=reports, today=today)
    chart["now"] = f"{today:%Y-%m}"
    chart["labels"] = {
        "planned": _("计划累计投资"),
        "actual": _("实际累计投资"),
        "unit": _("万元"),
        "now": _("本月"),
    }
    latest = reports[0] if reports else None
    share = None
    if latest is not None and project.total_investment:
        share = latest.cumulative_investment * Decimal(100) / project.total_investment
    add_month = add_report = None
    if selectors.report_addable(user=user, project=project):
        add_month = selectors.default_month_for(reports=reports, today=today)
        add_report = next((r for r in reports if r.month == add_month), None)
    return render_to_string(
        "progress/_project_reports.html",
        {
            "object": project,
            "reports": reports,
            "latest": latest,
            "share": share,
            "chart": chart,
            "add_month": add_month,
            "add_report": add_report,
        },
        request=request,
    )
