from django import forms


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
    """For FilterSets: the filter form comes styled."""

    @property
    def form(self):
        form = super().form
        return style_form(form)
