"""The project page's light: a coloured badge under the title with every reason."""

from django import template
from django.template.loader import render_to_string

from guatu.progress import selectors

register = template.Library()


@register.simple_tag(takes_context=True)
def project_warning(context, project):
    request = context.get("request")
    user = getattr(request, "user", None)
    warning = selectors.project_warning(user=user, project=project)
    if warning is not None:
        selectors.attach_reason_rows(user=user, warnings=[warning])
    return render_to_string("progress/_warning_light.html", {"warning": warning}, request=request)
