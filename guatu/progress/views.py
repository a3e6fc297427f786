from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import HttpResponse
from django.views.generic import View

# --- monthly reports


class ReportListView(LoginRequiredMixin, View):
    def get(self, request):
        return HttpResponse("")


# --- warnings


class WarningListView(LoginRequiredMixin, View):
    def get(self, request):
        return HttpResponse("")
