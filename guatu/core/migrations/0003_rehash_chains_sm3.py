"""The change log's chain moves from SHA-256 to SM3 (GB/T 32905), and each chain gets its head row.

The old chain is first checked whole with SHA-256: re-hashing a chain that was already tampered
with would make the tampering undetectable, so a break stops the migration and names the record.
"""

from django.core.management.base import CommandError
from django.db import connection, migrations

from guatu.core.changelog import CHANGES, GENESIS, LOGINS, digest, sha256_hex

BATCH = 2000


def _rehash(apps, db, old, new):
    ChangeRecord = apps.get_model("core", "ChangeRecord")
    ChainHead = apps.get_model("core", "ChainHead")
    qs = ChangeRecord.objects.select_related("content_type").order_by("id")

    # Pass 1: the old chain must be whole.
    prev = GENESIS
    for record in qs.iterator(chunk_size=BATCH):
        if record.prev_hash != prev or CHANGES.hash(record, old) != record.hash:
            raise CommandError(
                f"变更记录链在第 {record.pk} 条断开（按原摘要算法校验），未改用新算法。"
                f"请先查明该记录被改动或删除的原因，再重新执行迁移。"
            )
        prev = record.hash

    # Pass 2: re-hash in id order, each record chained to the new hash of the one before, reading by
    # ranges of ids rather than through one cursor over the table being updated. PostgreSQL takes the
    # new hashes by COPY into a temporary table and one UPDATE from it; elsewhere one UPDATE per record
    # sent in batches (executemany). Both are several times faster than bulk_update.
    table = db.ops.quote_name(ChangeRecord._meta.db_table)
    postgres = db.vendor == "postgresql"
    with db.cursor() as cursor:
        if postgres:
            cursor.execute(
                "CREATE TEMPORARY TABLE guatu_rehash (id bigint PRIMARY KEY, prev_hash varchar(64), "
                "hash varchar(64)) ON COMMIT DROP"
            )
        prev, count, last_id = GENESIS, 0, 0
        while batch := list(qs.filter(id__gt=last_id)[:BATCH]):
            rows = []
            for record in batch:
                record.prev_hash = prev  # hashed with the record: the new link first
                record.hash = prev = CHANGES.hash(record, new)
                rows.append((record.pk, record.prev_hash, record.hash))
            if postgres:
                with cursor.copy("COPY guatu_rehash (id, prev_hash, hash) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                cursor.executemany(
                    f"UPDATE {table} SET prev_hash = %s, hash = %s WHERE id = %s", [(p, h, i) for i, p, h in rows]
                )
            count += len(batch)
            last_id = batch[-1].pk
        if postgres:
            cursor.execute(
                f"UPDATE {table} AS r SET prev_hash = n.prev_hash, hash = n.hash FROM guatu_rehash AS n "
                "WHERE r.id = n.id"
            )
            cursor.execute("DROP TABLE guatu_rehash")

    ChainHead.objects.update_or_create(
        chain=CHANGES.name, defaults={"last_hash": prev, "count": count, "anchor_hash": GENESIS, "purged": 0}
    )
    ChainHead.objects.get_or_create(chain=LOGINS.name, defaults={"last_hash": GENESIS, "anchor_hash": GENESIS})


def _connection(schema_editor):
    return schema_editor.connection if schema_editor is not None else connection


def forwards(apps, schema_editor):
    _rehash(apps, _connection(schema_editor), sha256_hex, digest)


def backwards(apps, schema_editor):
    heads = apps.get_model("core", "ChainHead").objects
    if heads.filter(chain=CHANGES.name).exclude(anchor_hash=GENESIS).exists():
        raise CommandError("变更记录已有一部分归档清理，其起点只有新算法的摘要，无法改回原摘要算法。")
    _rehash(apps, _connection(schema_editor), digest, sha256_hex)
    apps.get_model("core", "ChainHead").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("core", "0002_chainhead_loginrecord")]

    operations = [migrations.RunPython(forwards, backwards)]
