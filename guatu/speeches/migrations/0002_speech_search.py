"""Full-text search over the speech library, on each database in its own way.

SQLite: an FTS5 table over Speech.search_tokens (jieba words, space-separated) with the speeches
table as its content; the services insert, update and delete its rows. PostgreSQL: a GIN index on
to_tsvector('simple', search_tokens), which the search selector's expression matches exactly.
"""

from django.db import migrations

FTS_TABLE = "speeches_speech_fts"
GIN_INDEX = "speeches_speech_search_gin"


def create(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        schema_editor.execute(
            f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5("
            "search_tokens, content='speeches_speech', content_rowid='id')"
        )
        # Index the speeches already there.
        schema_editor.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')")
    elif vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX {GIN_INDEX} ON speeches_speech USING gin (to_tsvector('simple', search_tokens))"
        )


def drop(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        schema_editor.execute(f"DROP TABLE IF EXISTS {FTS_TABLE}")
    elif vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {GIN_INDEX}")


class Migration(migrations.Migration):
    dependencies = [("speeches", "0001_initial")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
