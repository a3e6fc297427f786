import itertools

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from guatu.core.changelog import GENESIS, verify_chain
from guatu.core.models import ChangeRecord
from guatu.core.testing import make_project
from guatu.projects.services import project_update

pytestmark = pytest.mark.django_db


def test_every_write_chains_to_the_previous_record(world):
    project = make_project(world, actor=world.users["city"])
    project_update(actor=world.users["city"], project_id=project.pk, version=1, data={"name": "改名后的项目"})
    records = list(ChangeRecord.objects.order_by("id"))
    assert records[0].prev_hash == GENESIS
    for prev, record in itertools.pairwise(records):
        assert record.prev_hash == prev.hash
    last = records[-1]
    assert last.action == "update"
    assert last.actor == world.users["city"]
    assert last.before["name"] != last.after["name"] == "改名后的项目"
    assert last.changed_fields == ["name", "updated_at", "version"]
    assert list(verify_chain()) == []


def test_audit_verify_passes_on_a_whole_chain(world, capsys):
    make_project(world)
    call_command("audit_verify")
    assert "变更记录链完整" in capsys.readouterr().out


@pytest.mark.parametrize("column", ["after", "actor_name", "time"])
def test_audit_verify_names_the_first_altered_record(world, column):
    make_project(world)
    make_project(world)
    target = ChangeRecord.objects.order_by("id")[3]
    value = {"after": '\'{"name": "篡改"}\'', "actor_name": "'mallory'", "time": "'2020-01-01 00:00:00'"}[
        column
    ]
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE core_changerecord SET {column} = {value} WHERE id = %s", [target.pk])
    with pytest.raises(CommandError, match=f"第 {target.pk} 条断开"):
        call_command("audit_verify")


def test_audit_verify_detects_a_deleted_record(world):
    make_project(world)
    make_project(world)
    records = list(ChangeRecord.objects.order_by("id"))
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM core_changerecord WHERE id = %s", [records[2].pk])
    with pytest.raises(CommandError, match=f"第 {records[3].pk} 条断开"):
        call_command("audit_verify")
