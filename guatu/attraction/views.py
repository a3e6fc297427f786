"""Pages of the attraction app: thin; selectors read, services write, restrict() decides."""

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import View

from guatu.attraction import selectors, services
from guatu.attraction.forms import (
    FundsForm,
    FunnelFilterForm,
    LeadAdvanceForm,
    LeadConvertForm,
    LeadDropForm,
    LeadForm,
    LeadScreenForm,
)
from guatu.attraction.models import ChainLink, FundsInPlace, Lead
from guatu.attraction.tables import LeadTable
from guatu.core.models import ImportJob
from guatu.core.permissions import can
from guatu.core.views import ObjectEditView, ObjectListView, submit
from guatu.org.models import Chain
from guatu.projects.models import Project

# --- leads


class LeadListView(ObjectListView):
    model = Lead
    table_class = LeadTable
    template_name = "attraction/lead_list.html"

    @staticmethod
    def filterset(*, user, params):
        return selectors.lead_filterset(user=user, params=params)

    def extra_context(self, request):
        # Imports run as jobs, which only the project office and the counties keep.
        user = request.user
        return {"can_import": can(user, "import", Lead) and can(user, "add", ImportJob)}


class LeadDetailView(LoginRequiredMixin, View):
    """The lead's facts, its stages with dates and days in each, screening, funds, and the actions
    its stage allows. `bound` carries a form that came back with errors."""

    template_name = "attraction/lead_detail.html"

    def get(self, request, pk: int, bound: dict | None = None, status: int = 200):
        user = request.user
        if not can(user, "view", Lead):
            raise PermissionDenied
        try:
            lead = selectors.lead_get(user=user, pk=pk)
        except Lead.DoesNotExist:
            raise Http404 from None
        bound = bound or {}
        today = timezone.localdate()
        can_change = selectors.lead_queryset(user=user, action="change").filter(pk=pk).exists()
        following = services.next_stage(lead)
        signed = lead.stage.order >= services.stage_order(services.SIGNED)
        funds = selectors.lead_funds(user=user, lead=lead)
        is_open = lead.dropped_at is None
        converting = (
            is_open
            and lead.project_id is None
            and lead.stage.code in {"registered", services.STARTED}
            and can(user, "add", Project)
        )
        initial = {"version": lead.version}
        context = {
            "object": lead,
            "timeline": selectors.lead_timeline(user=user, lead=lead, today=today),
            "screening_failures": services.screening_failures(lead),
            "signing_next": following is not None and following.code == services.SIGNED,
            "next_stage": following,
            "funds": funds,
            "funds_total": selectors.funds_total(funds),
            "can_change": can_change,
            "can_advance": can_change
            and is_open
            and following is not None
            and following.code != services.STARTED,
            "can_drop": can_change and is_open and lead.stage.code not in {services.STARTED, "in_production"},
            "can_add_funds": can_change and is_open and signed,
            "can_convert": can_change and converting,
            "advance_form": bound.get("advance")
            or LeadAdvanceForm(
                initial={**initial, "to_stage": following.code if following else None, "on": today}
            ),
            "drop_form": bound.get("drop") or LeadDropForm(initial={**initial, "on": today}),
            "screen_form": bound.get("screen") or LeadScreenForm(instance=lead),
            "funds_form": bound.get("funds") or FundsForm(initial={"received_on": today}),
            "convert_form": bound.get("convert")
            or LeadConvertForm(initial={**initial, "on": today, "kind": "industry"}),
            "max_land_mu": services.max_land_mu(),
            "max_energy_tce": services.max_energy_tce(),
        }
        return render(request, self.template_name, context, status=status)


class _LeadAction(LoginRequiredMixin, View):
    """A POST from one of the detail page's forms: the service writes, or the page comes back with
    the form and the reason."""

    key: str
    form_class: type
    done_message: str

    def form(self, request, pk: int):
        return self.form_class(request.POST)

    def write(self, request, pk: int, form):
        raise NotImplementedError

    def post(self, request, pk: int):
        if not can(request.user, "change", Lead):
            raise PermissionDenied
        form = self.form(request, pk)

        def write():
            try:
                return self.write(request, pk, form)
            except Lead.DoesNotExist:
                raise Http404 from None

        _result, status = submit(form, write)
        if status != 200:
            return LeadDetailView().get(request, pk, bound={self.key: form}, status=status)
        messages.success(request, self.done_message)
        return redirect("attraction:lead_detail", pk=pk)


class LeadAdvanceView(_LeadAction):
    key, form_class, done_message = "advance", LeadAdvanceForm, gettext_lazy("阶段已推进")

    def write(self, request, pk, form):
        data = form.cleaned_data
        return services.lead_advance(
            actor=request.user, lead_id=pk, version=data["version"], to_stage=data["to_stage"].code,
            on=data["on"], note=data["note"],
        )  # fmt: skip


class LeadDropView(_LeadAction):
    key, form_class, done_message = "drop", LeadDropForm, gettext_lazy("线索已放弃")

    def write(self, request, pk, form):
        data = form.cleaned_data
        return services.lead_drop(
            actor=request.user, lead_id=pk, version=data["version"], reason=data["reason"], on=data["on"]
        )


class LeadScreenView(_LeadAction):
    key, form_class, done_message = "screen", LeadScreenForm, gettext_lazy("研判已保存")

    def form(self, request, pk):
        try:
            lead = selectors.lead_get(user=request.user, pk=pk, action="change")
        except Lead.DoesNotExist:
            raise Http404 from None
        return LeadScreenForm(request.POST, instance=lead)

    def write(self, request, pk, form):
        return services.lead_screen(
            actor=request.user, lead_id=pk, version=form.cleaned_data["version"], data=form.data_for_service()
        )


class FundsAddView(_LeadAction):
    key, form_class, done_message = "funds", FundsForm, gettext_lazy("到位资金已登记")

    def post(self, request, pk: int):
        if not can(request.user, "add", FundsInPlace):
            raise PermissionDenied
        return super().post(request, pk)

    def write(self, request, pk, form):
        data = form.cleaned_data
        return services.funds_add(
            actor=request.user, lead_id=pk, received_on=data["received_on"], amount=data["amount"],
            note=data["note"],
        )  # fmt: skip


class LeadConvertView(_LeadAction):
    key, form_class, done_message = "convert", LeadConvertForm, gettext_lazy("已转为入库项目")

    def post(self, request, pk: int):
        if not can(request.user, "add", Project):
            raise PermissionDenied
        return super().post(request, pk)

    def write(self, request, pk, form):
        return services.lead_convert(
            actor=request.user, lead_id=pk, version=form.cleaned_data["version"], data=form.data_for_service()
        )


class LeadEditView(ObjectEditView):
    model = Lead
    form_class = LeadForm

    def save(self, request, form, obj):
        if obj is None:
            return services.lead_create(
                actor=request.user, data=form.data_for_service(), on=form.cleaned_data.get("on")
            )
        return services.lead_update(
            actor=request.user,
            lead_id=obj.pk,
            version=form.cleaned_data.get("version") or 0,
            data=form.data_for_service(),
        )


class LeadExportView(LoginRequiredMixin, View):
    """Excel of exactly the filtered list the user is looking at."""

    def get(self, request):
        if not can(request.user, "export", Lead):
            raise PermissionDenied
        from guatu.attraction.io import export_leads

        queryset = selectors.lead_list(user=request.user, params=request.GET, action="export")
        response = HttpResponse(
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
        response["Content-Disposition"] = f'attachment; filename="leads-{timezone.localdate():%Y%m%d}.xlsx"'
        export_leads(queryset, response)
        return response


# --- funnel and chain map


class FunnelView(LoginRequiredMixin, View):
    """招商漏斗: per period (year, quarter), county and chain — each stage's count and amount, the
    dropped, the days in stage, the three rates, and the same per county."""

    def get(self, request):
        user = request.user
        if not can(user, "view", Lead):
            raise PermissionDenied
        today = timezone.localdate()
        form = FunnelFilterForm(request.GET or None, user=user, today=today)
        errors = [e for messages_ in form.errors.values() for e in messages_] if form.is_bound else []
        result = selectors.funnel(user=user, today=today, **form.funnel_params())
        stages = result.stages
        chart = funnel_chart(stages)
        context = {
            "form": form,
            "errors": errors,
            "funnel": result,
            "rates": [result.rates[code] for code, _label in selectors.FUNNEL_RATES],
            "rate_notes": FUNNEL_RATE_NOTES,
            "chart": chart,
            "county_rows": [(c, form.query(county=c.region.code)) for c in result.counties],
            "all_counties_query": form.query(county=None),
            "today": today,
            "has_leads": any(s.count or s.dropped for s in stages),
        }
        return render(request, "attraction/funnel.html", context, status=400 if errors else 200)


def funnel_chart(stages) -> dict:
    """The funnel chart's data (static/attraction/funnel_chart.js); the dashboard draws it too."""
    return {
        "names": [s.name for s in stages],
        "counts": [s.count for s in stages],
        "amounts": [str(s.amount_wan) for s in stages],
        "colors": [s.color for s in stages],
        "labels": {"count": _("线索数"), "amount": _("意向投资"), "unit": _("万元"), "leads": _("个")},
    }


FUNNEL_RATE_NOTES = {
    "landing_rate": gettext_lazy("本期正式签约的线索中，期末前已注册落户的比例"),
    "start_completion_rate": gettext_lazy("本期开工的线索中，入库项目已竣工（或已投产）的比例"),
    "production_rate": gettext_lazy("本期开工的线索中，已投产（线索或入库项目投产、达产达效）的比例"),
}


class ChainMapView(LoginRequiredMixin, View):
    """产业链图谱: every chain's links upstream, midstream and downstream with the enterprises present,
    the links still missing (补链) and its 链主."""

    def get(self, request):
        user = request.user
        if not can(user, "view", ChainLink):
            raise PermissionDenied
        cards = selectors.chain_map(user=user)
        links = [link for card in cards for link in card.links]
        context = {
            "cards": cards,
            "summary": {
                "chains": len(cards),
                "links": len(links),
                "missing": sum(link.missing for link in links),
                "with_leader": sum(bool(card.leaders) for card in cards),
            },
            "can_view_leads": can(user, "view", Lead),
        }
        return render(request, "attraction/chain_map.html", context)


class ChainDetailView(LoginRequiredMixin, View):
    """One chain: its links with who is present, its 链主, and the leads along it link by link."""

    def get(self, request, pk: int):
        user = request.user
        if not can(user, "view", ChainLink):
            raise PermissionDenied
        try:
            chain = selectors.chain_get(user=user, pk=pk)
        except Chain.DoesNotExist:
            raise Http404 from None
        card = selectors.chain_map(user=user, chain=chain)[0]
        can_view_leads = can(user, "view", Lead)
        groups = selectors.chain_leads(user=user, chain=chain) if can_view_leads else []
        context = {
            "chain": chain,
            "card": card,
            "groups": groups,
            "lead_count": sum(len(g.leads) for g in groups),
            "can_view_leads": can_view_leads,
        }
        return render(request, "attraction/chain_detail.html", context)
