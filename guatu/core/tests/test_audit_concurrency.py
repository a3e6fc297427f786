"""Many writers appending to both chains at once on PostgreSQL: no two chain onto the same record."""

import threading

import pytest
from django.db import connection

from guatu.core.changelog import CHANGES, LOGINS, record_change, record_changes, record_login, verify
from guatu.core.models import ChainHead, ChangeRecord, LoginRecord
from guatu.org.models import Chain as IndustryChain

pytestmark = [pytest.mark.serial, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

THREADS, SINGLE, BULK, BULK_SIZE = 8, 25, 3, 40


def test_parallel_appends_keep_both_chains_whole():
    if connection.vendor != "postgresql":
        pytest.skip("并发写入只在 PostgreSQL 上检验（SQLite 一次只允许一个写事务）")
    rows = [IndustryChain.objects.create(name=f"并发测试产业链{i}", order=i) for i in range(THREADS)]
    start = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def write(n: int) -> None:
        from django.db import connections

        try:
            start.wait()
            row = rows[n]
            for i in range(SINGLE):
                record_change(
                    actor=None, obj=row, action="update", before={"order": i}, after={"order": i + 1}
                )
                record_login(event="failed", username=f"thread{n}-{i}")
                if i % (SINGLE // BULK) == 0 and i < SINGLE // BULK * BULK:
                    changes = [(row, "update", {"order": j}, {"order": j + 1}) for j in range(BULK_SIZE)]
                    record_changes(actor=None, changes=changes)
        except BaseException as err:  # reported by the main thread
            errors.append(err)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []

    changes = THREADS * (SINGLE + BULK * BULK_SIZE)
    assert ChangeRecord.objects.count() == changes
    assert LoginRecord.objects.count() == THREADS * SINGLE
    assert list(verify(CHANGES)) == [] and list(verify(LOGINS)) == []
    assert ChainHead.objects.get(chain="change").count == changes
    assert ChainHead.objects.get(chain="login").count == THREADS * SINGLE
