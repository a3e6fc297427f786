"""Pages of the targets app. Thin: selectors read, services write, restrict() decides."""

# --- targets and pledges
import datetime as dt

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.generic import View

from guatu.core.db_router import lagging_reads
from guatu.core.permissions import can
from guatu.core.views import ObjectDeleteView, ObjectEditView, submit
from guatu.org.models import Region
from guatu.org.selectors import city_region
from guatu.targets import bulletin as bulletin_doc
from guatu.targets import scoring
from guatu.targets import selectors as target_selectors
from guatu.targets import services as target_services
from guatu.targets.forecast import forecast_target, forecast_targets
from guatu.targets.forms import BulletinForm, PledgeForm, SplitForm, TargetForm
from guatu.targets.metrics import get_metric, metric_name
from guatu.targets.models import Pledge, SchemeGroup, ScoringScheme, Target
from guatu.targets.periods import MONTH, QUARTER, YEAR, Period
from guatu.targets.tables import TargetRowTable, unit_of

TARGETS_PER_PAGE = 50


def _today(request) -> dt.date:
    return timezone.localdate()


class TargetListView(LoginRequiredMixin, View):
    """Targets with actual, forecast band, status and the split check; the current quarter's phase on top."""

    def get(self, request):
        user = request.user
        if not can(user, "view", Target):
            raise PermissionDenied
        today = _today(request)
        filterset = target_selectors.target_filterset(user=user, params=request.GET)
        qs = filterset.qs if filterset.is_valid() else Target.objects.none()
        page = Paginator(qs, TARGETS_PER_PAGE).get_page(request.GET.get("page"))
        rows = forecast_targets(page.object_list, today=today)
        context = {
            "filterset": filterset,
            "page": page,
            "rows": rows,
            "table": TargetRowTable(rows),
            "total": page.paginator.count,
            "phase": target_selectors.phase_view(user=user, city=city_region(), today=today),
            "can_add": can(user, "add", Target),
            "today": today,
        }
        return render(request, "targets/target_list.html", context)


class TargetDetailView(LoginRequiredMixin, View):
    def get(self, request, pk: int, split_form: SplitForm | None = None, status: int = 200):
        user = request.user
        if not can(user, "view", Target):
            raise PermissionDenied
        try:
            target = target_selectors.target_get(user=user, pk=pk)
        except Target.DoesNotExist:
            raise Http404 from None
        today = _today(request)
        period = Period.parse(target.period)
        can_change = target_selectors.target_queryset(user=user, action="change").filter(pk=pk).exists()
        is_city = bool(target.region_id and target.region.parent_id is None)
        counties = Region.objects.filter(parent=target.region_id).order_by("code") if is_city else []
        if split_form is None and can_change and is_city:
            split_form = SplitForm(target=target, counties=counties)
        context = {
            "object": target,
            "row": forecast_target(target, today=today),
            "parts": target_selectors.target_part_rows(user=user, target=target, today=today),
            "period": period,
            "phase": target_selectors.current_phase(period.start) if period.kind == "quarter" else None,
            "is_city": is_city,
            "can_change": can_change,
            "can_delete": target_selectors.target_queryset(user=user, action="delete").filter(pk=pk).exists(),
            "split_form": split_form if can_change and is_city else None,
            "metric_name": metric_name(target.metric),
            "metric_unit": unit_of(target.metric),
            "today": today,
        }
        return render(request, "targets/target_detail.html", context, status=status)


class TargetEditView(ObjectEditView):
    model = Target
    form_class = TargetForm
    template_name = "targets/target_edit.html"

    def save(self, request, form, obj):
        if obj is None:
            return target_services.target_create(actor=request.user, data=form.data_for_service())
        return target_services.target_update(
            actor=request.user,
            target_id=obj.pk,
            version=form.cleaned_data.get("version") or 0,
            data=form.data_for_service(),
        )


class TargetDeleteView(ObjectDeleteView):
    model = Target
    list_url = reverse_lazy("targets:target_list")

    def delete(self, request, obj):
        target_services.target_delete(actor=request.user, target_id=obj.pk)


class TargetSplitView(LoginRequiredMixin, View):
    """分解: one value per county of a city target."""

    def post(self, request, pk: int):
        user = request.user
        if not can(user, "change", Target):
            raise PermissionDenied
        try:
            target = target_selectors.target_get(user=user, pk=pk, action="change")
        except Target.DoesNotExist:
            raise Http404 from None
        counties = Region.objects.filter(parent=target.region_id).order_by("code")
        form = SplitForm(request.POST, target=target, counties=counties)
        _result, status = submit(
            form,
            lambda: target_services.target_split(
                actor=user, target_id=pk, parts=form.parts(), version=form.cleaned_data["version"]
            ),
        )
        if status != 200:
            return TargetDetailView().get(request, pk, split_form=form, status=status)
        messages.success(request, _("已保存分解：%(t)s") % {"t": target})
        return redirect("targets:target_detail", pk=pk)


class PledgeListView(LoginRequiredMixin, View):
    """Each 军令状 with its targets against their actuals; missed ones flagged 未完成."""

    def get(self, request):
        user = request.user
        if not can(user, "view", Pledge):
            raise PermissionDenied
        from guatu.targets.filters import PledgeFilterSet

        today = _today(request)
        filterset = PledgeFilterSet(request.GET, queryset=target_selectors.pledge_queryset(user=user))
        qs = filterset.qs if filterset.is_valid() else Pledge.objects.none()
        page = Paginator(qs, 20).get_page(request.GET.get("page"))
        rows = target_selectors.pledge_rows(user=user, pledges=page.object_list, today=today)
        context = {
            "filterset": filterset,
            "page": page,
            "pledges": rows,
            "total": page.paginator.count,
            "missed_total": sum(r.missed_count for r in rows),
            "can_add": can(user, "add", Pledge),
            "today": today,
        }
        return render(request, "targets/pledge_list.html", context)


class PledgeDetailView(LoginRequiredMixin, View):
    def get(self, request, pk: int):
        user = request.user
        if not can(user, "view", Pledge):
            raise PermissionDenied
        try:
            pledge = target_selectors.pledge_queryset(user=user).get(pk=pk)
        except Pledge.DoesNotExist:
            raise Http404 from None
        (row,) = target_selectors.pledge_rows(user=user, pledges=[pledge], today=_today(request))
        context = {
            "object": pledge,
            "pledge": row,
            "can_change": target_selectors.pledge_queryset(user=user, action="change").filter(pk=pk).exists(),
            "can_delete": target_selectors.pledge_queryset(user=user, action="delete").filter(pk=pk).exists(),
        }
        return render(request, "targets/pledge_detail.html", context)


class PledgeEditView(ObjectEditView):
    model = Pledge
    form_class = PledgeForm
    template_name = "targets/pledge_edit.html"

    def save(self, request, form, obj):
        if obj is None:
            return target_services.pledge_create(
                actor=request.user, data=form.data_for_service(), target_ids=form.target_ids()
            )
        return target_services.pledge_update(
            actor=request.user,
            pledge_id=obj.pk,
            version=form.cleaned_data.get("version") or 0,
            data=form.data_for_service(),
            target_ids=form.target_ids(),
        )


class PledgeDeleteView(ObjectDeleteView):
    model = Pledge
    list_url = reverse_lazy("targets:pledge_list")

    def delete(self, request, obj):
        target_services.pledge_delete(actor=request.user, pledge_id=obj.pk)


# --- scoring and rankings


def _movement(value: int | None) -> tuple[str, str, str]:
    """(text, css class, spoken) of a rank movement: ▲2 up, ▼1 down, — unchanged or unknown."""
    if value is None:
        return "—", "text-secondary", _("上期未排名")
    if value > 0:
        return f"▲{value}", "text-success", _("上升 %(n)s 位") % {"n": value}
    if value < 0:
        return f"▼{-value}", "text-danger", _("下降 %(n)s 位") % {"n": -value}
    return "—", "text-secondary", _("名次不变")


def _period_nav(period: Period, today: dt.date) -> dict:
    """The periods the picker links to: the same period as a month, quarter or year; the one
    before and after (no later than today's)."""
    last = min(period.end, today) if period.start <= today else period.start
    following = Period.containing(period.end + dt.timedelta(days=1), period.kind)
    return {
        "kinds": [
            (MONTH, _("月"), Period.containing(last, MONTH)),
            (QUARTER, _("季"), Period.containing(last, QUARTER)),
            (YEAR, _("年"), Period.containing(last, YEAR)),
        ],
        "previous": period.previous(),
        "next": following if following.start <= today else None,
    }


class RankingView(LoginRequiredMixin, View):
    """擂台比武: a period's ranking (monthly by default) with each unit's breakdown, its movement
    since the previous period, the leader (擂主) and the bottom three (后三位)."""

    @lagging_reads()
    def get(self, request):
        user = request.user
        if not can(user, "view", ScoringScheme):
            raise PermissionDenied
        today = _today(request)
        errors: list[str] = []
        period = scoring.default_period(today)
        if request.GET.get("period"):
            try:
                period = Period.parse(request.GET["period"])
            except ValidationError as err:
                errors.extend(err.messages)
        try:
            group = scoring.parse_group(request.GET.get("group"))
        except ValidationError as err:
            errors.extend(err.messages)
            group = SchemeGroup.COUNTY
        scheme, scores = scoring.ranking_for(user=user, period=period, group=group, today=today)
        rows = [{"score": s, "movement": _movement(s.movement)} for s in scores]
        chart = ranking_chart(scores)
        context = {
            "period": period,
            "group": group,
            "groups": SchemeGroup.choices,
            "scheme": scheme,
            "rows": rows,
            "chart": chart,
            "nav": _period_nav(period, today),
            "errors": errors,
            "month_value": f"{period.year}-{period.last_month:02d}",
            "today": today,
        }
        return render(request, "targets/ranking.html", context, status=400 if errors else 200)


def ranking_chart(scores) -> dict:
    """The 擂台 bar chart's data (static/targets/ranking_chart.js); the dashboard draws it too."""
    return {
        "names": [s.name for s in scores],
        "scores": [str(s.score) for s in scores],
        "leader": [s.is_leader for s in scores],
        "bottom": [s.is_bottom for s in scores],
        "labels": {"score": _("得分"), "rank": _("名次")},
    }


class SchemeListView(LoginRequiredMixin, View):
    """考核方案: every scheme, year by year, each version listed; the one that scores marked."""

    def get(self, request):
        user = request.user
        if not can(user, "view", ScoringScheme):
            raise PermissionDenied
        schemes = list(scoring.scheme_list(user=user).prefetch_related("items"))
        scoring_now = {}
        for scheme in schemes:  # newest version first within a year and group
            if scheme.is_active:
                scoring_now.setdefault((scheme.year, scheme.group), scheme.pk)
        rows = [{"scheme": s, "in_force": scoring_now.get((s.year, s.group)) == s.pk} for s in schemes]
        return render(request, "targets/scheme_list.html", {"rows": rows})


class SchemeDetailView(LoginRequiredMixin, View):
    """One scheme version: its items with weights, the ranking bonuses, the note, and every version
    of its year and group."""

    def get(self, request, pk: int):
        user = request.user
        if not can(user, "view", ScoringScheme):
            raise PermissionDenied
        try:
            scheme = scoring.scheme_get(user=user, pk=pk)
        except ScoringScheme.DoesNotExist:
            raise Http404 from None
        items = []
        for item in scoring.scheme_items(scheme):
            try:
                unit = get_metric(item.metric).unit
            except ValidationError:
                unit = ""
            items.append({"item": item, "name": metric_name(item.metric), "unit": unit})
        versions = list(scoring.scheme_versions(user=user, scheme=scheme))
        in_force = next((v for v in versions if v.is_active), None)
        context = {
            "object": scheme,
            "items": items,
            "weight_total": sum(i["item"].weight for i in items if i["item"].kind == "weighted"),
            "versions": versions,
            "in_force": in_force,
            "ranking_period": f"{scheme.year}" if scheme.year < _today(request).year else "",
        }
        return render(request, "targets/scheme_detail.html", context)


# --- bulletin


DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


class BulletinView(LoginRequiredMixin, View):
    """通报: pick a period, read what the bulletin will say, download it as Word (GB/T 9704-2012).
    Only 项目办 and 领导 (see bulletin.may_issue); the figures are read as the signed-in user."""

    download = False

    def get(self, request):
        if not bulletin_doc.may_issue(request.user):
            raise PermissionDenied
        today = _today(request)
        params = request.GET.copy()
        params.setdefault("period", str(Period.containing(today, "quarter")))
        form = BulletinForm(params)
        content = None
        if form.is_valid():
            day = form.cleaned_data["date"] or today
            content = bulletin_doc.bulletin_content(
                user=request.user,
                period=form.cleaned_data["period"],
                today=day,
                number=form.cleaned_data["number"],
            )
            if self.download:
                response = HttpResponse(bulletin_doc.bulletin_docx(content), content_type=DOCX)
                response["Content-Disposition"] = content_disposition_header(True, content.filename)
                return response
        periods = bulletin_doc.period_choices(today)
        if content is not None and content.period not in periods:
            periods.insert(0, content.period)  # a month or an older quarter typed into the address
        context = {
            "form": form,
            "content": content,
            "periods": periods,
            "chosen": params.get("period", ""),
            "query": params.urlencode(),
        }
        status = 400 if form.errors else 200
        return render(request, "targets/bulletin.html", context, status=status)
