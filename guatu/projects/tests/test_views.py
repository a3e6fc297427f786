from decimal import Decimal

import pytest
from django.urls import reverse

from guatu.core.testing import make_project, project_code
from guatu.core.testing_views import ViewTestCases
from guatu.projects.models import Project

pytestmark = pytest.mark.django_db


class TestProjectViews(ViewTestCases.CRUD):
    model = Project
    url_prefix = "projects:project"
    invalid_data = {"total_investment": "-5", "name": "输入不能丢的项目名"}
    invalid_message = "投资额不能为负数"

    def kept_value(self, data):
        return data["name"]

    def make_object(self, world, **kwargs):
        return make_project(world, **kwargs)

    def form_data(self, world):
        return {
            "code": project_code("211302"),
            "name": "双塔区智能制造产业园",
            "enterprise": world.enterprise.pk,
            "region": world.counties["211302"].pk,
            "chain": world.chain.pk,
            "kind": "industry",
            "build_type": "new",
            "total_investment": "52000",
            "annual_planned_investment": "20000",
            "planned_start": "2026-04-01",
            "planned_completion": "2027-10-01",
            "capacity_gate": "pending",
            "environment_gate": "pending",
            "safety_gate": "pending",
            "departments": [world.department.pk],
        }

    def edit_data(self, world, obj):
        return self.form_data(world) | {"code": obj.code, "version": obj.version}


def test_list_filters_by_region_stage_and_investment(client, world):
    a = make_project(world, name="风电甲", total_investment=Decimal("90000"), stage="started")
    make_project(
        world,
        name="风电乙",
        total_investment=Decimal("900"),
        annual_planned_investment=Decimal("500"),
        stage="started",
    )
    make_project(world, name="风电丙", region=world.counties["211303"], stage="started")
    client.force_login(world.users["city"])
    response = client.get(
        reverse("projects:project_list"),
        {"region": "211302", "stage": "started", "investment_min": "10000", "q": "风电"},
    )
    body = response.content.decode()
    assert a.name in body and "风电乙" not in body and "风电丙" not in body
    assert "共 1 条" in body


def test_list_is_paginated_and_sortable(client, world):
    for i in range(55):
        make_project(world, name=f"分页项目{i:02d}", total_investment=Decimal(5000 + i))
    client.force_login(world.users["city"])
    first = client.get(reverse("projects:project_list"), {"sort": "-total_investment"}).content.decode()
    assert "共 55 条" in first and "分页项目54" in first and "分页项目00" not in first
    second = client.get(
        reverse("projects:project_list"), {"sort": "-total_investment", "page": 2}
    ).content.decode()
    assert "分页项目00" in second and "分页项目54" not in second


def test_detail_shows_gates_stage_history_and_timeline(client, world):
    project = make_project(world, environment_gate="failed")
    client.force_login(world.users["city"])
    response = client.post(
        reverse("projects:project_stage", args=[project.pk]),
        {"to_stage": "signed", "version": project.version},
    )
    assert response.status_code == 400
    assert "环境关未通过" in response.content.decode()
    client.post(
        reverse("projects:project_edit", args=[project.pk]),
        {
            **{f: getattr(project, f) for f in ("code", "name", "kind", "build_type", "lead_leader")},
            "enterprise": project.enterprise_id,
            "region": project.region_id,
            "total_investment": "15000",
            "annual_planned_investment": "5000",
            "capacity_gate": "passed",
            "environment_gate": "passed",
            "safety_gate": "passed",
            "version": project.version,
        },
    )
    project.refresh_from_db()
    response = client.post(
        reverse("projects:project_stage", args=[project.pk]),
        {"to_stage": "signed", "note": "完成签约", "version": project.version},
    )
    assert response.status_code == 302
    body = client.get(reverse("projects:project_detail", args=[project.pk])).content.decode()
    assert "谋划 → 签约" in body and "完成签约" in body
    assert "总投资(万元)" in body and "15000.00" in body  # the timeline names the field, before → after
