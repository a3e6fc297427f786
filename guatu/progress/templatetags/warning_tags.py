from django import template

register = template.Library()


@register.simple_tag(takes_context=True)
def project_warning(context, project):
    """Placeholder until this panel is built: renders nothing."""
    return ""
