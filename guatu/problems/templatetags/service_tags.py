"""The 服务 card of the project page: the steward, the "1+1+n" contacts, the latest visits and the
agency requests, with the forms and links the user is allowed."""

from django import template
from django.template.loader import render_to_string

from guatu.core.permissions import can
from guatu.problems import selectors
from guatu.problems.models import StewardVisit

register = template.Library()


@register.simple_tag(takes_context=True)
def project_service_card(context, project):
    request = context.get("request")
    user = getattr(request, "user", None)
    if not can(user, "view", StewardVisit):
        return ""
    data = selectors.project_service(user=user, project=project)
    data["next"] = request.get_full_path() if request is not None else ""
    return render_to_string("problems/_service_card.html", data, request=request)
