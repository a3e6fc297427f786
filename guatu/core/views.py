from django.views.generic import View


class ChangeLogView(View):
    pass
