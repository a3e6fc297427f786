import contextvars
from collections.abc import Iterator
from contextlib import contextmanager

from django.db.models import QuerySet

from guatu.core.permissions import restrict
from guatu.org.models import Chain, Region, Unit

_held: contextvars.ContextVar[dict | None] = contextvars.ContextVar("regions_held", default=None)


@contextmanager
def regions_held() -> Iterator[None]:
    """Within the block, read the region codes and the city's box once: an import validates
    thousands of projects against them, and regions do not change while it runs."""
    token = _held.set({})
    try:
        yield
    finally:
        _held.reset(token)


def _once(name: str, read):
    held = _held.get()
    if held is None:
        return read()
    if name not in held:
        held[name] = read()
    return held[name]


def region_codes() -> set[str]:
    return _once("codes", lambda: set(Region.objects.values_list("code", flat=True)))


def city_region() -> Region | None:
    return Region.objects.filter(level=Region.Level.CITY).first()


def city_bbox() -> tuple[float, float, float, float] | None:
    """(min_lat, max_lat, min_lon, max_lon) of the configured city, or None when unknown."""

    def read():
        city = city_region()
        if city is None or city.min_lat is None:
            return None
        return (city.min_lat, city.max_lat, city.min_lon, city.max_lon)

    return _once("bbox", read)


def region_list(*, user) -> QuerySet[Region]:
    return restrict(Region.objects, user, "view").select_related("parent")


def county_list(*, user) -> QuerySet[Region]:
    return region_list(user=user).filter(level=Region.Level.COUNTY)


def unit_list(*, user) -> QuerySet[Unit]:
    return restrict(Unit.objects, user, "view").select_related("region")


def chain_list(*, user) -> QuerySet[Chain]:
    return restrict(Chain.objects, user, "view")
