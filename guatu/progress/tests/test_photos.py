"""Site photos: JPEG and PNG only, by content; a size limit; the EXIF location and time kept as data
and stripped from the stored (and served) file."""

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import reverse
from PIL import Image

from guatu.core.exceptions import Conflict
from guatu.core.models import ChangeRecord
from guatu.progress.models import ReportPhoto
from guatu.progress.services import photo_add, report_approve, report_submit
from guatu.progress.tests.report_helpers import building_project, jpeg_with_gps, months_ago, png_bytes, save

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def report(world):
    return save(world.users["county"], building_project(world), months_ago(1))


def upload(data: bytes, name: str = "现场.jpg", content_type: str = "image/jpeg"):
    return SimpleUploadedFile(name, data, content_type=content_type)


def test_a_jpeg_keeps_its_gps_and_time_as_data_and_the_stored_file_has_no_exif(world, report):
    original = jpeg_with_gps()
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825)  # the test photo does carry GPS
    photo = photo_add(
        actor=world.users["county"], report_id=report.pk, upload=upload(original), caption=" 塔吊 "
    )
    photo.refresh_from_db()
    assert (photo.latitude, photo.longitude) == (Decimal("41.573400"), Decimal("120.450833"))
    assert photo.taken_at == dt.datetime(2026, 10, 15, 1, 30, tzinfo=dt.UTC)  # 09:30 in Asia/Shanghai
    assert photo.caption == "塔吊"
    assert photo.image.name.endswith(".jpg") and "现场" not in photo.image.name
    with photo.image.open("rb") as fh:
        stored = fh.read()
    assert b"Exif" not in stored and b"TestCam" not in stored
    image = Image.open(io.BytesIO(stored))
    assert image.format == "JPEG"
    assert image.size == (64, 48)
    assert dict(image.getexif()) == {}
    assert "exif" not in image.info and "xmp" not in image.info
    record = ChangeRecord.objects.order_by("-id").first()
    assert (record.action, record.object_id, record.after["latitude"]) == (
        "create",
        str(photo.pk),
        "41.573400",
    )


def test_a_png_is_accepted_and_stays_a_png(world, report):
    photo = photo_add(
        actor=world.users["county"], report_id=report.pk, upload=upload(png_bytes(), "a.png", "image/png")
    )
    with photo.image.open("rb") as fh:
        assert Image.open(fh).format == "PNG"
    assert (photo.latitude, photo.taken_at) == (None, None)


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (b"this is only text, renamed to look like a photo\n" * 20, "photo.jpg"),
        (b"GIF89a" + b"\x00" * 64, "photo.png"),
        (b"", "empty.jpg"),
    ],
)
def test_what_is_not_a_jpeg_or_png_by_content_is_refused_whatever_its_name(world, report, data, name):
    before = (ReportPhoto.objects.count(), ChangeRecord.objects.count())
    with pytest.raises(ValidationError) as caught:
        photo_add(actor=world.users["county"], report_id=report.pk, upload=upload(data, name))
    assert "只接受 JPEG 或 PNG" in caught.value.message_dict["image"][0]
    assert (ReportPhoto.objects.count(), ChangeRecord.objects.count()) == before


def test_a_real_gif_is_refused(world, report):
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, "GIF")
    with pytest.raises(ValidationError, match="只接受 JPEG 或 PNG"):
        photo_add(actor=world.users["county"], report_id=report.pk, upload=upload(buffer.getvalue(), "a.jpg"))


def test_an_oversize_photo_is_refused_before_it_is_read(world, report):
    data = jpeg_with_gps(size=(400, 300))
    with override_settings(PHOTO_MAX_BYTES=len(data) - 1), pytest.raises(ValidationError, match="超过上限"):
        photo_add(actor=world.users["county"], report_id=report.pk, upload=upload(data))
    assert ReportPhoto.objects.count() == 0
    with override_settings(PHOTO_MAX_BYTES=len(data)):
        assert photo_add(actor=world.users["county"], report_id=report.pk, upload=upload(data)).pk


def test_no_photo_on_a_submitted_or_approved_report_nor_outside_scope(world, report):
    county = world.users["county"]
    with pytest.raises(Exception, match="不存在或无权"):
        photo_add(actor=world.users["other_county"], report_id=report.pk, upload=upload(jpeg_with_gps()))
    report_submit(actor=county, report_id=report.pk, version=1)
    report_approve(actor=county, report_id=report.pk, version=2)
    with pytest.raises(Conflict, match="已审核"):
        photo_add(actor=county, report_id=report.pk, upload=upload(jpeg_with_gps()))
    assert ReportPhoto.objects.count() == 0


def test_the_photo_is_served_to_those_who_see_the_report_without_exif(client, world, report):
    photo = photo_add(actor=world.users["county"], report_id=report.pk, upload=upload(jpeg_with_gps()))
    url = reverse("progress:report_photo", args=[photo.pk])
    client.force_login(world.users["other_county"])
    assert client.get(url).status_code == 404
    client.force_login(world.users["enterprise"])
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    served = b"".join(response.streaming_content)
    assert dict(Image.open(io.BytesIO(served)).getexif()) == {}
    assert b"TestCam" not in served


def test_a_photo_uploaded_with_the_form_is_saved_with_the_figures(client, world):
    project = building_project(world)
    client.force_login(world.users["county"])
    month = months_ago(1)
    url = reverse("progress:report_add", args=[project.pk, f"{month:%Y-%m}"])
    response = client.post(
        url,
        {
            "investment_done": "12",
            "percent_complete": "5",
            "photo": upload(jpeg_with_gps()),
            "caption": "开挖",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    photo = ReportPhoto.objects.get()
    assert (photo.caption, photo.report.month, photo.latitude) == ("开挖", month, Decimal("41.573400"))


def test_a_bad_photo_in_the_form_saves_nothing_and_keeps_the_typed_figures(client, world):
    project = building_project(world)
    client.force_login(world.users["county"])
    url = reverse("progress:report_add", args=[project.pk, f"{months_ago(1):%Y-%m}"])
    response = client.post(
        url,
        {"investment_done": "12.34", "percent_complete": "5", "photo": upload(b"not a photo" * 10, "x.jpg")},
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "只接受 JPEG 或 PNG" in body and "12.34" in body
    assert not project.monthly_reports.exists()
