"""Generic page-view test cases (NetBox style): an app's test class names its model, URLs and data,
and inherits the checks. Each check asserts behaviour that could fail: status codes, scope,
what was written, and that the change log grew by exactly one record."""

from typing import Any, ClassVar

import pytest
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from guatu.core.models import ChangeRecord


class _Base:
    model: ClassVar[type]
    url_prefix: ClassVar[str]  # e.g. "projects:project"

    def url(self, action: str, obj=None) -> str:
        name = f"{self.url_prefix}_{action}"
        return reverse(name, args=[obj.pk]) if obj is not None else reverse(name)

    def make_object(self, world, **kwargs):
        raise NotImplementedError


@pytest.mark.django_db
class ViewTestCases:
    class List(_Base):
        def test_list_requires_login(self, client, world):
            response = client.get(self.url("list"))
            assert response.status_code == 302 and "/login/" in response["Location"]

        def test_list_shows_objects_in_scope(self, client, world):
            obj = self.make_object(world)
            client.force_login(world.users["city"])
            response = client.get(self.url("list"))
            assert response.status_code == 200
            assert str(obj) in response.content.decode()

    class Detail(_Base):
        def test_detail_in_scope_and_404_outside(self, client, world):
            obj = self.make_object(world)
            client.force_login(world.users["city"])
            assert client.get(self.url("detail", obj)).status_code == 200
            client.force_login(world.users["other_county"])
            assert client.get(self.url("detail", obj)).status_code == 404

    class Create(_Base):
        def form_data(self, world) -> dict[str, Any]:
            raise NotImplementedError

        def test_create_writes_one_row_and_one_change_record(self, client, world):
            client.force_login(world.users["city"])
            # The model's own records: creating a row may create child rows too (a project's
            # approvals), each with its own record.
            own = ChangeRecord.objects.filter(content_type=ContentType.objects.get_for_model(self.model))
            before_rows, before_log = self.model.objects.count(), own.count()
            response = client.post(self.url("add"), self.form_data(world))
            assert response.status_code == 302, response.content.decode()[:2000]
            assert self.model.objects.count() == before_rows + 1
            assert own.count() == before_log + 1
            assert own.order_by("-id").first().action == "create"

        def test_invalid_create_keeps_input_and_writes_nothing(self, client, world):
            client.force_login(world.users["city"])
            data = self.form_data(world) | self.invalid_data
            before_rows, before_log = self.model.objects.count(), ChangeRecord.objects.count()
            response = client.post(self.url("add"), data)
            assert response.status_code == 400
            body = response.content.decode()
            assert self.invalid_message in body
            assert self.kept_value(data) in body  # what the user typed is still there
            assert (self.model.objects.count(), ChangeRecord.objects.count()) == (before_rows, before_log)

    class Update(_Base):
        def test_stale_version_gets_409_and_keeps_input(self, client, world):
            obj = self.make_object(world)
            client.force_login(world.users["city"])
            data = self.edit_data(world, obj)
            first = client.post(self.url("edit", obj), data | {"name": "甲的修改"})
            assert first.status_code == 302
            second = client.post(self.url("edit", obj), data | {"name": "乙的修改"})  # same old version
            assert second.status_code == 409
            assert "已被他人修改" in second.content.decode()
            assert "乙的修改" in second.content.decode()
            obj.refresh_from_db()
            assert obj.name == "甲的修改"

    class Delete(_Base):
        def test_delete_logs_and_removes(self, client, world):
            obj = self.make_object(world)
            client.force_login(world.users["city"])
            assert client.get(self.url("delete", obj)).status_code == 200
            response = client.post(self.url("delete", obj))
            assert response.status_code == 302
            assert not self.model.objects.filter(pk=obj.pk).exists()
            record = ChangeRecord.objects.order_by("-id").first()
            assert (record.action, record.object_id, record.after) == ("delete", str(obj.pk), None)

    class CRUD(List, Detail, Create, Update, Delete):
        pass
