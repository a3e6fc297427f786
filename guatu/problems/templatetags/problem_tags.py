"""The project page's 问题 card."""

from django import template
from django.template.loader import render_to_string
from django.utils import timezone

from guatu.core.permissions import can
from guatu.problems import selectors
from guatu.problems.models import Problem

register = template.Library()


@register.simple_tag(takes_context=True)
def project_problems(context, project):
    """The project's problems not yet closed (as the user may see them), overdue days beside each."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if not can(user, "view", Problem):
        return ""
    today = timezone.localdate()
    problems = [
        (problem, selectors.overdue_days(problem, today))
        for problem in selectors.project_open_problems(user=user, project=project)
    ]
    return render_to_string(
        "problems/_project_problems.html",
        {"project": project, "problems": problems, "can_add": selectors.may_raise(user)},
        request=request,
    )
