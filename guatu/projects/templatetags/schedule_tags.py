"""The 倒排工期 panel of the project page: a Gantt chart (ECharts) and a compact table."""

from django import template
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from guatu.projects.selectors import ScheduleItem
from guatu.projects.selectors import project_schedule as schedule_of

register = template.Library()


def item_state(item: ScheduleItem) -> str:
    """The colour a bar gets: late (red) wins, then done (green), then overridden, then pending."""
    if item.late:
        return "late"
    if item.done:
        return "done"
    if item.status == "rejected":
        return "rejected"
    if item.overridden:
        return "overridden"
    if item.latest_finish is None:
        return "undated"
    return "submitted" if item.status == "submitted" else "pending"


def chart_data(items: list[ScheduleItem], today) -> dict:
    """What gantt.js draws: plain JSON, dates as ISO strings, labels already translated."""

    def iso(day):
        return day.isoformat() if day else None

    return {
        "today": today.isoformat(),
        "items": [
            {
                "code": item.code,
                "name": item.name,
                "type": item.kind,
                "latest_start": iso(item.latest_start),
                "latest_finish": iso(item.latest_finish),
                "actual_start": iso(item.actual_start),
                "actual_finish": iso(item.actual_finish),
                "planned": iso(item.planned),
                "late": item.late,
                "late_days": item.late_days,
                "overridden": item.overridden,
                "override_reason": item.override_reason,
                "status": item.status_label,
                "state": item_state(item),
                "duration": item.duration_label,
            }
            for item in items
        ],
        "labels": {
            "today": _("今天"),
            "latest_start": _("最迟报送"),
            "latest_finish": _("最迟批复"),
            "milestone_date": _("节点日期"),
            "planned": _("原计划"),
            "actual_start": _("实际报送"),
            "actual_finish": _("实际完成"),
            "status": _("状态"),
            "late": _("逾期 %(days)s 天"),
            "overridden": _("已调整"),
            "reason": _("理由"),
            "duration": _("法定时限"),
            "legend": {
                "pending": _("未完成"),
                "submitted": _("办理中"),
                "done": _("已完成"),
                "late": _("逾期"),
                "overridden": _("已调整节点"),
            },
        },
    }


@register.simple_tag(takes_context=True)
def project_schedule(context, project):
    request = context.get("request")
    user = getattr(request, "user", None)
    today = timezone.localdate()
    items = schedule_of(user=user, project=project, today=today)
    rows = [(item, item_state(item)) for item in items]
    return render_to_string(
        "projects/_schedule.html",
        {
            "object": project,
            "rows": rows,
            "chart": chart_data(items, today),
            "late_count": sum(item.late for item in items),
            "can_change": context.get("can_change", False),
            "has_dates": any(item.latest_finish for item in items),
            "chart_height": max(240, 30 * len(items) + 90),
        },
        request=request,
    )
