from django import template

register = template.Library()


@register.simple_tag(takes_context=True)
def project_schedule(context, project):
    """Placeholder until this panel is built: renders nothing."""
    return ""
