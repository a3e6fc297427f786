"""The war map in a real Chromium: the map is drawn, the divisions are listed, a click on a division
on the map drills into it and lists its projects; a county account sees its own division only; the
big screen fills 1920×1080 without scrolling; the page fits a phone. Screenshots go to
test-output/screenshots/ (see guatu/browser_testing.py)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from guatu.browser_testing import DESKTOP, PHONE, canvas_has_colour, wait_for_drawn_canvas
from guatu.core.testing import make_project, make_world
from guatu.progress.models import ProjectWarning, WarningLevel

pytest_plugins = ["guatu.browser_testing"]
pytestmark = [
    pytest.mark.browser,
    pytest.mark.serial,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

MAP = "#dash-map canvas"
FITS = "document.documentElement.scrollWidth <= window.innerWidth"
JIANPING = "211322"  # 建平县: the largest division, easy to hit


def campaign(world):
    """Two projects in 双塔区, three in 建平县, one in 北票市 (red, with coordinates away from the
    division's label, which ECharts draws over the points)."""
    today = timezone.localdate()
    made = {}
    for code, names in (
        ("211302", ["双塔甲", "双塔乙"]),
        (JIANPING, ["建平甲", "建平乙", "建平丙"]),
        ("211381", ["北票甲"]),
    ):
        for i, name in enumerate(names):
            made[name] = make_project(
                world,
                name=f"{name}项目",
                region=world.counties[code],
                total_investment=Decimal(10000 + i),
                planned_start=dt.date(today.year, 3, 1),
            )
    red = made["北票甲"]
    red.latitude, red.longitude = Decimal("41.92"), Decimal("120.80")
    red.save(update_fields=["latitude", "longitude"])
    ProjectWarning.objects.update_or_create(
        project=red,
        defaults={
            "region": red.region,
            "level": WarningLevel.objects.get(code="red"),
            "reasons": [{"rule": "start", "level": "red", "reason": "计划3月开工，尚未开工"}],
            "computed_at": timezone.now(),
            "computed_on": today,
        },
    )
    return made


def click_division(page, name: str) -> None:
    """Click the map where ECharts draws the division's label point (its centre in the map file)."""
    x, y = page.evaluate(
        """async (name) => {
          const el = document.getElementById("dash-map");
          const data = JSON.parse(document.getElementById(el.dataset.map).textContent);
          const geo = await (await fetch(data.geo_url)).json();
          const feature = geo.features.find((f) => f.properties.name === name);
          const chart = window.echarts.getInstanceByDom(el);
          const [px, py] = chart.convertToPixel({ geoIndex: 0 }, feature.properties.cp);
          const box = el.getBoundingClientRect();
          return [box.left + px, box.top + py];
        }""",
        name,
    )
    page.mouse.click(x, y)


def test_city_map_drills_into_a_division(page_for, screenshot):
    world = make_world()
    campaign(world)
    page = page_for(world.users["city"], DESKTOP)
    page.goto("/dashboard/")
    page.wait_for_selector("#dash-map[data-drawn='1']")
    assert wait_for_drawn_canvas(page, MAP, colours=4) >= 4
    assert canvas_has_colour(page, MAP, "#d63939")  # the red project's point, in the light's colour
    assert page.locator("tr[data-division]").count() == 7
    assert page.locator(".kpi-projects").inner_text() == "6"
    screenshot(page, "city")

    with page.expect_navigation():
        click_division(page, "建平县")
    assert f"division={JIANPING}" in page.url
    page.wait_for_selector("#dash-map[data-drawn='1']")
    rows = page.locator(".dash-projects tr[data-project]")
    assert rows.count() == 3
    assert {rows.nth(i).get_attribute("data-region") for i in range(3)} == {JIANPING}
    assert page.locator("tr[data-division]").count() == 1
    assert page.locator(".kpi-projects").inner_text() == "3"
    screenshot(page, "jianping")

    # The whole list in the project registry, filtered the same way.
    with page.expect_navigation():
        page.click(".dash-projects .card-actions a")
    assert f"region={JIANPING}" in page.url
    assert page.locator("table tbody tr").count() == 3


def test_county_sees_only_its_division(page_for, screenshot):
    world = make_world()
    campaign(world)
    page = page_for(world.users["county"], DESKTOP)
    page.goto("/dashboard/")
    page.wait_for_selector("#dash-map[data-drawn='1']")
    wait_for_drawn_canvas(page, MAP, colours=3)
    assert page.locator("tr[data-division]").all_inner_texts() == [
        page.locator("tr[data-division]").first.inner_text()
    ]
    assert page.locator("tr[data-division]").first.get_attribute("data-division") == "211302"
    assert page.locator(".kpi-projects").inner_text() == "2"
    names = page.evaluate(
        "async () => (await (await fetch('/dashboard/map.geojson')).json()).features.map(f => f.properties.name)"
    )
    assert names == ["双塔区"]
    assert page.locator(".dash-projects tr[data-project]").count() == 2
    screenshot(page, "shuangta")


def test_big_screen_fills_1920_by_1080_without_scrolling(page_for, screenshot):
    world = make_world()
    campaign(world)
    page = page_for(world.users["leader"], {"width": 1920, "height": 1080})
    page.goto("/dashboard/screen/")
    page.wait_for_selector("#dash-map[data-drawn='1']")
    wait_for_drawn_canvas(page, MAP, colours=3)
    wait_for_drawn_canvas(page, "[data-funnel='stage-chart'] canvas", colours=3)
    fits = page.evaluate(
        "[document.documentElement.scrollHeight <= innerHeight, document.documentElement.scrollWidth <= innerWidth]"
    )
    assert fits == [True, True]
    # The body's colour as drawn (the kit may give it in oklch), read back from a 1×1 canvas.
    background = page.evaluate(
        """() => {
          const c = document.createElement("canvas").getContext("2d");
          c.fillStyle = getComputedStyle(document.body).backgroundColor;
          c.fillRect(0, 0, 1, 1);
          return Array.from(c.getImageData(0, 0, 1, 1).data).slice(0, 3);
        }"""
    )
    assert sum(background) < 150, background  # dark
    screenshot(page, "screen")


def test_war_map_fits_a_phone(page_for, screenshot):
    world = make_world()
    campaign(world)
    page = page_for(world.users["city"], PHONE)
    page.goto("/dashboard/")
    page.wait_for_selector("#dash-map[data-drawn='1']")
    wait_for_drawn_canvas(page, MAP, colours=3)
    assert page.evaluate(FITS)
    screenshot(page, "phone")
