"""Security headers (等保 2.0 level 3): a strict Content-Security-Policy for scripts, no framing,
no sniffing, a same-origin referrer; `guatu check --deploy` is clean in production; no template
carries an inline script, event handler or javascript: link; the pages run under the policy in a
real Chromium with no violation; a failed request shows a Chinese page, never a traceback."""

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import OperationalError
from django.urls import path, reverse

from guatu.core.testing import make_project, make_world

ROOT = Path(__file__).resolve().parents[3]


def directives(header: str) -> dict[str, list[str]]:
    parts = (part.strip().split() for part in header.split(";") if part.strip())
    return {part[0]: part[1:] for part in parts}


@pytest.mark.django_db
def test_a_page_carries_the_security_headers(client):
    world = make_world()
    client.force_login(world.users["city"])
    response = client.get(reverse("dashboard:war_map"))
    assert response.status_code == 200
    policy = directives(response["Content-Security-Policy"])
    assert policy["script-src"] == ["'self'"]
    assert "'unsafe-inline'" not in policy.get("default-src", [])
    assert "'unsafe-eval'" not in policy["script-src"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["object-src"] == ["'none'"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] in {"same-origin", "strict-origin-when-cross-origin"}
    # The login page too, before anyone is signed in.
    client.logout()
    login = client.get(reverse("login"))
    assert directives(login["Content-Security-Policy"])["script-src"] == ["'self'"]
    assert login["X-Frame-Options"] == "DENY"


@pytest.mark.django_db
def test_swagger_ui_runs_without_an_inline_script(client):
    world = make_world()
    client.force_login(world.users["city"])
    page = client.get("/api/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    scripts = re.findall(r"<script\b([^>]*)>", html)
    assert scripts and all("src=" in attributes for attributes in scripts), scripts
    start_up = re.search(r'<script src="([^"]*\?script[^"]*)"', html)
    assert start_up, "Swagger UI 的启动脚本不是单独的文件"
    script = client.get(start_up.group(1).replace("&amp;", "&"))
    assert script.status_code == 200 and "SwaggerUIBundle" in script.content.decode()


TEMPLATE_DIRS = [ROOT / "guatu"]
INLINE = [
    (
        re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/(?:ld\+)?json\")[^>]*>", re.I),
        "内联脚本",
    ),
    (re.compile(r"\son[a-z]+\s*=\s*[\"']", re.I), "内联事件处理（on...=）"),
    (re.compile(r"javascript:", re.I), "javascript: 链接"),
]


def test_no_template_carries_inline_script():
    found = []
    for template in sorted(ROOT.joinpath("guatu").rglob("templates/**/*.html")):
        text = template.read_text(encoding="utf-8")
        for pattern, what in INLINE:
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                found.append(f"{template.relative_to(ROOT)}:{line}: {what}：{match.group(0)}")
    assert not found, "\n".join(found)


def test_check_deploy_is_clean_in_production(tmp_path):
    env = {
        **os.environ,
        "GUATU_PRODUCTION": "1",
        "GUATU_SECRET_KEY": secrets.token_urlsafe(64),
        "GUATU_ALLOWED_HOSTS": "guatu.example.gov.cn",
        "GUATU_DEBUG": "0",
    }
    env.pop("GUATU_TESTING", None)
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set by the browser tests' fixture
    guatu = Path(sys.executable).with_name("guatu")
    result = subprocess.run(
        [str(guatu), "check", "--deploy"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "no issues" in output, output


def test_check_deploy_names_what_is_missing_outside_production():
    """The check above passes because of the production settings, not because it checks nothing."""
    env = {**os.environ, "GUATU_PRODUCTION": "0", "GUATU_ALLOWED_HOSTS": "guatu.example.gov.cn"}
    env.pop("GUATU_TESTING", None)
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set by the browser tests' fixture
    guatu = Path(sys.executable).with_name("guatu")
    result = subprocess.run(
        [str(guatu), "check", "--deploy"], env=env, capture_output=True, text=True, timeout=300, cwd=ROOT
    )
    output = result.stdout + result.stderr
    for check in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert check in output, output


def test_production_refuses_the_development_secret_key():
    env = {**os.environ, "GUATU_PRODUCTION": "1", "GUATU_ALLOWED_HOSTS": "guatu.example.gov.cn"}
    env.pop("GUATU_SECRET_KEY", None)
    env.pop("GUATU_TESTING", None)
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set by the browser tests' fixture
    guatu = Path(sys.executable).with_name("guatu")
    result = subprocess.run(
        [str(guatu), "check", "--deploy"], env=env, capture_output=True, text=True, timeout=300, cwd=ROOT
    )
    assert result.returncode != 0
    assert "生产环境必须设置 GUATU_SECRET_KEY" in result.stderr


# --- error pages ------------------------------------------------------------------------------


def _boom(request):
    raise ValueError("a bug the page must not show")


def _database_down(request):
    raise OperationalError('connection to server at "127.0.0.1", port 5432 failed: Connection refused')


urlpatterns = [
    path("boom/", _boom),
    path("api/boom/", _database_down),
    path("database-down/", _database_down),
]
handler500 = "guatu.core.errors.server_error"


@pytest.mark.urls(__name__)
def test_a_failed_request_shows_a_chinese_page_without_a_traceback(client):
    client.raise_request_exception = False
    response = client.get("/boom/")
    body = response.content.decode()
    assert response.status_code == 500
    assert "服务器出错了" in body and "请求编号" in body
    assert "Traceback" not in body and "ValueError" not in body and "a bug" not in body
    assert response["Content-Security-Policy"]

    down = client.get("/database-down/")
    body = down.content.decode()
    assert down.status_code == 503 and down["Retry-After"]
    assert "数据库暂时无法连接" in body and "Connection refused" not in body

    api = client.get("/api/boom/")
    assert api.status_code == 503 and api.json()["detail"].startswith("数据库暂时无法连接")


# --- in a real browser ------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.serial
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_pages_run_under_the_policy_in_a_browser(page_for, screenshot):
    import datetime as dt

    from guatu.browser_testing import wait_for_drawn_canvas
    from guatu.targets.models import SchemeItem, ScoringScheme

    world = make_world()
    project = make_project(world, planned_start=dt.date(2026, 3, 2), planned_completion=dt.date(2027, 3, 1))
    for code in ("211302", "211302", "211303"):
        make_project(world, region=world.counties[code], stage="started", planned_start=dt.date(2026, 3, 10))
    scheme = ScoringScheme.objects.create(year=2026, group="county", version=99, name="安全策略测试方案")
    SchemeItem.objects.create(scheme=scheme, order=1, metric="started", label="新开工", kind="count", per=2)

    page = page_for(world.users["city"])
    violations, errors = [], []
    page.on(
        "console",
        lambda message: "Content Security Policy" in message.text and violations.append(message.text),
    )
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.evaluate("() => {}")  # listeners are on before the pages below load
    visits = [
        (reverse("dashboard:war_map"), "#dash-map canvas"),
        (f"/projects/{project.pk}/", ".gantt-chart canvas"),
        ("/targets/rankings/?period=2026-03&group=county", ".ranking-chart canvas"),
    ]
    for url, canvas in visits:
        page.goto(url)
        assert wait_for_drawn_canvas(page, canvas) >= 3, url
        screenshot(page, url.strip("/").split("/")[0] or "home")
    # The printable war map (its print button was an inline handler) and the project list.
    for url in (reverse("dashboard:print"), "/projects/"):
        page.goto(url)
        page.wait_for_load_state("networkidle")
    page.goto("/api/docs/")
    page.locator(".swagger-ui .info").first.wait_for()
    assert not violations, "\n".join(violations)
    assert not errors, "\n".join(errors)


pytest_plugins = ["guatu.browser_testing"]
