"""Helpers for the monthly-report tests (plain functions, so any test module can use them)."""

import datetime as dt
import io
from decimal import Decimal

from django.utils import timezone
from PIL import Image

from guatu.core.testing import make_project, project_code
from guatu.progress.services import month_start, report_save, shift_month


def this_month() -> dt.date:
    return month_start(timezone.localdate())


def months_ago(n: int) -> dt.date:
    return shift_month(this_month(), -n)


def building_project(world, *, region=None, start_months_ago: int = 10, months: int = 20, **data):
    """A project under construction that started `start_months_ago` months ago."""
    region = region or world.counties["211302"]
    start = months_ago(start_months_ago)
    values = {
        "code": project_code(region.code, year=start.year),
        "planned_start": start,
        "planned_completion": shift_month(start, months) - dt.timedelta(days=1),
        "stage": "under_construction",
        "region": region,
    }
    values.update(data)
    return make_project(world, **values)


def save(actor, project, month, investment="100", percent="10", version=None, **extra):
    data = {"investment_done": Decimal(investment), "percent_complete": Decimal(percent), **extra}
    return report_save(actor=actor, project_id=project.pk, month=month, data=data, version=version)


def jpeg_with_gps(
    *, lat=(41, 34, 24.24), lon=(120, 27, 3.0), taken="2026:10:15 09:30:00", size=(64, 48)
) -> bytes:
    """A real JPEG carrying an EXIF block: GPS position and DateTimeOriginal (built with Pillow)."""
    image = Image.new("RGB", size, (200, 120, 40))
    exif = Image.Exif()
    exif[0x010F] = "TestCam"  # Make
    exif[0x0132] = "2026:10:15 09:30:00"  # DateTime
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", tuple(float(v) for v in lat)
    gps[3], gps[4] = "E", tuple(float(v) for v in lon)
    details = exif.get_ifd(0x8769)
    details[0x9003] = taken  # DateTimeOriginal
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif)
    return buffer.getvalue()


def png_bytes(size=(32, 32)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGBA", size, (10, 200, 90, 255)).save(buffer, "PNG")
    return buffer.getvalue()
