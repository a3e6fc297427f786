"""Generic API test classes, in the manner of NetBox's APIViewTestCases.

An app's test class names the model, the router base name (URL names are `api:<basename>-list` and
`api:<basename>-detail`), data factories and which roles of the test world may do what; the classes
drive every user of the world through the HTTP layer with a real token and compare each answer with
what restrict() allows: 403 for a role without the action at all, 404 for a row outside its scope.

    class TestChainAPI(APITestCases.ReadOnly):
        model = Chain
        basename = "chain"
        view_roles = BUSINESS_ROLES

        def make_object(self, world):
            return chain_get_or_create(actor=None, name=...)[0]
"""

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db.models import Model
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from guatu.core.changelog import snapshot
from guatu.core.models import ChangeRecord
from guatu.core.permissions import restrict

# Keys of make_world().users.
BUSINESS_ROLES = frozenset(
    {"city", "leader", "county", "other_county", "department", "enterprise", "steward"}
)


def api_client(user=None, client: APIClient | None = None) -> APIClient:
    """A client that signs in the way API users do: `Authorization: Token …`; anonymous for None.

    Pass the client back in to switch users: each new client loads the middleware afresh, and
    WhiteNoise then rescans every static file, which makes a new client per request slow.
    """
    client = client or APIClient()
    if user is None:
        client.credentials()
    else:
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


class APITestCases:
    class Base:
        model: type[Model]
        basename: str
        lookup_field = "pk"  # the model attribute in the detail URL
        key = "id"  # the same value's name in the representation
        missing_key = "999999"
        view_roles: frozenset[str] = frozenset()
        add_roles: frozenset[str] = frozenset()
        change_roles: frozenset[str] = frozenset()
        delete_roles: frozenset[str] = frozenset()

        def make_object(self, world) -> Model:
            raise NotImplementedError

        def make_objects(self, world) -> list[Model]:
            """Rows in different scopes, so that some roles see some and not others."""
            return [self.make_object(world) for _ in range(3)]

        @pytest.fixture
        def objects(self, world):
            return self.make_objects(world)

        @pytest.fixture
        def api(self):
            return APIClient()

        def list_url(self) -> str:
            return reverse(f"api:{self.basename}-list")

        def detail_url(self, obj_or_key) -> str:
            key = obj_or_key if isinstance(obj_or_key, str) else self.key_of(obj_or_key)
            return reverse(f"api:{self.basename}-detail", args=[key])

        def key_of(self, obj: Model) -> str:
            return str(getattr(obj, self.lookup_field))

        def scope(self, user, action: str) -> set[str]:
            rows = restrict(self.model.objects, user, action).values_list(self.lookup_field, flat=True)
            return {str(key) for key in rows}

        def expected_status(self, role: str, user, action: str, obj: Model, success: int) -> int:
            roles = {
                "view": self.view_roles,
                "add": self.add_roles,
                "change": self.change_roles,
                "delete": self.delete_roles,
            }[action]
            if role not in roles:
                return 403
            return success if self.key_of(obj) in self.scope(user, action) else 404

    class List(Base):
        bulk_count = 50
        max_list_queries = 5
        query_role = "city"

        def make_bulk(self, world, count: int) -> None:
            for _ in range(count):
                self.make_object(world)

        def test_list_needs_a_token(self, api, objects):
            response = api_client(None, api).get(self.list_url())
            assert response.status_code == 401
            assert response["WWW-Authenticate"].startswith("Token")

        def test_list_shows_each_role_exactly_its_scope(self, api, world, objects):
            actual, expected = {}, {}
            for role, user in world.users.items():
                response = api_client(user, api).get(self.list_url(), {"limit": 1000})
                if role in self.view_roles:
                    expected[role] = (200, self.scope(user, "view"))
                else:
                    expected[role] = (403, None)
                keys = None
                if response.status_code == 200:
                    keys = {str(item[self.key]) for item in response.json()["results"]}
                actual[role] = (response.status_code, keys)
            assert actual == expected
            assert any(keys for _, keys in expected.values()), "the test world shows nobody anything"

        def test_list_queries_do_not_grow_with_rows(self, api, world, django_assert_max_num_queries):
            self.make_bulk(world, self.bulk_count)
            user = world.users[self.query_role]
            client = api_client(user, api)
            total = restrict(self.model.objects, user, "view").count()
            with django_assert_max_num_queries(self.max_list_queries):
                response = client.get(self.list_url(), {"limit": self.bulk_count})
            assert response.status_code == 200
            assert len(response.json()["results"]) == min(total, self.bulk_count) > 0

    class Retrieve(Base):
        def test_retrieve_needs_a_token(self, api, objects):
            response = api_client(None, api).get(self.detail_url(objects[0]))
            assert response.status_code == 401

        def test_retrieve_answers_each_role_by_scope(self, api, world, objects):
            actual, expected = {}, {}
            for role, user in world.users.items():
                client = api_client(user, api)
                for obj in objects:
                    response = client.get(self.detail_url(obj))
                    expected[role, self.key_of(obj)] = self.expected_status(role, user, "view", obj, 200)
                    actual[role, self.key_of(obj)] = response.status_code
                    if response.status_code == 200:
                        assert str(response.json()[self.key]) == self.key_of(obj)
            assert actual == expected
            assert 200 in expected.values()

        def test_retrieve_unknown_is_404(self, api, world, objects):
            role = next(iter(sorted(self.view_roles)))
            response = api_client(world.users[role], api).get(self.detail_url(self.missing_key))
            assert response.status_code == 404

    class Create(Base):
        def create_data(self, world, role: str) -> dict:
            """Valid data for a new row inside this role's scope (fresh unique values on every call)."""
            raise NotImplementedError

        def invalid_create_data(self, world) -> tuple[dict, str]:
            """Data the model refuses, and the field the error message must name."""
            raise NotImplementedError

        def test_create_needs_a_token(self, api, world):
            before = self.model.objects.count()
            response = api_client(None, api).post(
                self.list_url(), self.create_data(world, "city"), format="json"
            )
            assert response.status_code == 401
            assert self.model.objects.count() == before

        def test_create_per_role(self, api, world):
            actual, expected = {}, {}
            for role, user in world.users.items():
                before = self.model.objects.count()
                response = api_client(user, api).post(
                    self.list_url(), self.create_data(world, role), format="json"
                )
                expected[role] = 201 if role in self.add_roles else 403
                actual[role] = response.status_code
                if response.status_code == 201:
                    key = str(response.json()[self.key])
                    obj = self.model.objects.get(**{self.lookup_field: key})
                    assert ChangeRecord.objects.filter(
                        content_type=ContentType.objects.get_for_model(self.model),
                        action="create",
                        object_id=str(obj.pk),
                        actor=user,
                    ).exists()
                else:
                    assert self.model.objects.count() == before, role
            assert actual == expected

        def test_create_refuses_invalid_data_with_field_messages(self, api, world):
            data, field = self.invalid_create_data(world)
            role = next(iter(sorted(self.add_roles)))
            before = self.model.objects.count()
            response = api_client(world.users[role], api).post(self.list_url(), data, format="json")
            assert response.status_code == 400
            assert response.json()[field]
            assert self.model.objects.count() == before

    class Update(Base):
        versioned = False  # the row carries `version`; writes must send the version they read

        def update_data(self, world, obj: Model) -> dict:
            """A partial update that changes the row (fresh values on every call)."""
            raise NotImplementedError

        def _patch(self, client, obj: Model, data: dict):
            if self.versioned:
                data = {**data, "version": obj.version}
            return client.patch(self.detail_url(obj), data, format="json")

        def test_update_needs_a_token(self, api, world, objects):
            obj = objects[0]
            obj.refresh_from_db()  # compare database values with database values
            before = snapshot(obj)
            response = self._patch(api_client(None, api), obj, self.update_data(world, obj))
            assert response.status_code == 401
            obj.refresh_from_db()
            assert snapshot(obj) == before

        def test_update_per_role(self, api, world, objects):
            actual, expected = {}, {}
            for role, user in world.users.items():
                client = api_client(user, api)
                for obj in objects:
                    obj.refresh_from_db()
                    before = snapshot(obj)
                    status = self.expected_status(role, user, "change", obj, 200)
                    response = self._patch(client, obj, self.update_data(world, obj))
                    obj.refresh_from_db()
                    expected[role, self.key_of(obj)] = (status, status == 200)
                    actual[role, self.key_of(obj)] = (response.status_code, snapshot(obj) != before)
            assert actual == expected
            assert (200, True) in expected.values()

    class Versioned(Update):
        versioned = True
        change_role = "city"

        def test_update_without_version_is_refused(self, api, world, objects):
            obj = objects[0]
            obj.refresh_from_db()  # compare database values with database values
            before = snapshot(obj)
            client = api_client(world.users[self.change_role], api)
            response = client.patch(self.detail_url(obj), self.update_data(world, obj), format="json")
            assert response.status_code == 400
            assert response.json()["version"]
            obj.refresh_from_db()
            assert snapshot(obj) == before

        def test_stale_version_is_a_conflict_and_changes_nothing(self, api, world, objects):
            obj = objects[0]
            client = api_client(world.users[self.change_role], api)
            read_version = obj.version
            first = client.patch(
                self.detail_url(obj), {**self.update_data(world, obj), "version": read_version}, format="json"
            )
            assert first.status_code == 200
            assert first.json()["version"] == read_version + 1
            obj.refresh_from_db()
            before = snapshot(obj)
            second = client.patch(
                self.detail_url(obj), {**self.update_data(world, obj), "version": read_version}, format="json"
            )
            assert second.status_code == 409
            assert "已被他人修改" in second.json()["detail"]
            obj.refresh_from_db()
            assert snapshot(obj) == before

    class Delete(Base):
        def test_delete_needs_a_token(self, api, objects):
            response = api_client(None, api).delete(self.detail_url(objects[0]))
            assert response.status_code == 401
            assert self.model.objects.filter(pk=objects[0].pk).exists()

        def test_delete_per_role(self, api, world):
            actual, expected = {}, {}
            for role, user in world.users.items():
                client = api_client(user, api)
                for obj in self.make_objects(world):
                    status = self.expected_status(role, user, "delete", obj, 204)
                    response = client.delete(self.detail_url(obj))
                    gone = not self.model.objects.filter(pk=obj.pk).exists()
                    expected[role, self.key_of(obj)] = (status, status == 204)
                    actual[role, self.key_of(obj)] = (response.status_code, gone)
                    if gone:
                        assert ChangeRecord.objects.filter(
                            content_type=ContentType.objects.get_for_model(self.model),
                            action="delete",
                            object_id=str(obj.pk),
                            actor=user,
                        ).exists()
            assert actual == expected
            assert (204, True) in expected.values()

    class ReadOnly(List, Retrieve):
        def test_nobody_writes(self, api, world, objects):
            obj = objects[0]
            obj.refresh_from_db()
            before = (self.model.objects.count(), snapshot(obj))
            actual = {}
            for role in sorted(self.view_roles):
                client = api_client(world.users[role], api)
                actual[role] = {
                    client.post(self.list_url(), {}, format="json").status_code,
                    client.put(self.detail_url(obj), {}, format="json").status_code,
                    client.patch(self.detail_url(obj), {}, format="json").status_code,
                    client.delete(self.detail_url(obj)).status_code,
                }
            assert actual == {role: {405} for role in self.view_roles}
            obj.refresh_from_db()
            assert (self.model.objects.count(), snapshot(obj)) == before

    class CRUD(List, Retrieve, Create, Update, Delete):
        pass
