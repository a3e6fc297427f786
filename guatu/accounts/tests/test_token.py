import pytest
from django.test import override_settings
from rest_framework.authtoken.models import Token

from guatu.core.testing import make_user
from guatu.core.testing_api import api_client

pytestmark = pytest.mark.django_db

PASSWORD = "Guatu-test-2026"
TOKEN_URL = "/api/auth/token/"


@pytest.fixture
def api():
    return api_client()


def test_user_name_and_password_give_a_token_that_signs_api_calls_in(world, api):
    response = api.post(TOKEN_URL, {"username": "t_shuangta", "password": PASSWORD}, format="json")
    assert response.status_code == 200
    key = response.json()["token"]
    assert Token.objects.get(key=key).user == world.users["county"]
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/projects/").status_code == 200
    # Asking again gives the same token rather than piling up new ones.
    again = api_client(None, api).post(TOKEN_URL, {"username": "t_shuangta", "password": PASSWORD})
    assert again.json()["token"] == key


@pytest.mark.parametrize(
    "credentials",
    [
        {"username": "t_shuangta", "password": "wrong-password"},
        {"username": "nobody", "password": PASSWORD},
        {"username": "t_shuangta"},
    ],
)
def test_wrong_credentials_get_no_token(world, api, credentials):
    response = api.post(TOKEN_URL, credentials, format="json")
    assert response.status_code == 400
    assert "token" not in response.json()
    assert not Token.objects.exists()


def test_an_inactive_user_gets_no_token_and_its_old_token_stops_working(world, api):
    user = make_user("county", username="t_inactive", region=world.counties["211302"])
    client = api_client(user, api)
    assert client.get("/api/projects/").status_code == 200
    user.is_active = False
    user.save()
    assert client.get("/api/projects/").status_code == 401
    response = api_client(None, api).post(TOKEN_URL, {"username": "t_inactive", "password": PASSWORD})
    assert response.status_code == 400


def test_without_a_token_the_api_answers_401_with_the_scheme(world, api):
    response = api.get("/api/projects/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json()["detail"] == "身份认证信息未提供。"


def test_the_token_endpoint_only_takes_post(world, api):
    assert api.get(TOKEN_URL).status_code == 405


@override_settings(AXES_ENABLED=True)
def test_five_failures_lock_the_account_for_the_api_too(world, api):
    for _ in range(5):
        api.post(TOKEN_URL, {"username": "t_shuangta", "password": "wrong-password"}, format="json")
    response = api.post(TOKEN_URL, {"username": "t_shuangta", "password": PASSWORD}, format="json")
    assert response.status_code == 429
    assert response.json()["detail"]
    assert not Token.objects.exists()
    # Another account is not affected (lockout is per user name, 等保).
    other = api.post(TOKEN_URL, {"username": "t_longcheng", "password": PASSWORD}, format="json")
    assert other.status_code == 200
