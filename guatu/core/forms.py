from django import forms
from django.utils.translation import gettext_lazy as _
from django_filters.widgets import BooleanWidget


def style_form(form: forms.BaseForm) -> forms.BaseForm:
    """Give every widget the UI kit's class, so templates stay plain."""
    for field in form.fields.values():
        widget = field.widget
        if isinstance(widget, forms.CheckboxInput):
            css = "form-check-input"
        elif isinstance(widget, (forms.Select, forms.SelectMultiple)):
            css = "form-select"
        elif isinstance(widget, forms.HiddenInput):
            continue
        else:
            css = "form-control"
        widget.attrs.setdefault("class", css)
    return form


class StyledFilterMixin:
    """For FilterSets: the filter form comes styled, and a yes/no filter left empty reads 全部."""

    @property
    def form(self):
        form = super().form
        for field in form.fields.values():
            if isinstance(field.widget, (forms.NullBooleanSelect, BooleanWidget)):
                field.widget.choices = [("", _("全部")), ("true", _("是")), ("false", _("否"))]
        return style_form(form)
