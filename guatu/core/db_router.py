"""Read replica routing: reads that can tolerate replication lag (the dashboard, rankings) go to the
`replica` alias, and only inside an explicit `lagging_reads()` block.

Everything else reads from `default`, so a request that writes and then reads sees its own write.
The alias exists when GUATU_READ_DATABASE_URL is set (see settings.DATABASES); without it the router
is not installed and nothing changes.

    @lagging_reads()                 # a view method: the whole body reads from the replica
    def get(self, request): ...

    with lagging_reads():            # or a block
        figures = selectors.summary(...)
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS

REPLICA_DB_ALIAS = "replica"
_ALIASES = frozenset({DEFAULT_DB_ALIAS, REPLICA_DB_ALIAS})


@dataclass
class _LaggingReads:
    # Set by the first write inside the block: from then on the block reads from default, so it sees
    # what it wrote even though the replica may not have it yet.
    wrote: bool = False


# A context variable, not a thread-local: each request (thread or task) has its own, and a block ends
# exactly where its `with` ends.
_lagging: ContextVar[_LaggingReads | None] = ContextVar("guatu_lagging_reads", default=None)


@contextmanager
def lagging_reads() -> Iterator[None]:
    """Let the reads inside this block come from the read replica. Usable as a decorator; a nested
    block shares the outer one's state."""
    token = _lagging.set(_lagging.get() or _LaggingReads())
    try:
        yield
    finally:
        _lagging.reset(token)


def reading_lagging() -> bool:
    """True inside lagging_reads() until the block writes."""
    state = _lagging.get()
    return state is not None and not state.wrote


class ReadReplicaRouter:
    """Reads inside lagging_reads() to `replica`, every other read and every write to `default`;
    migrations only on `default` (the replica receives them by replication)."""

    def db_for_read(self, model, **hints) -> str:
        if reading_lagging() and REPLICA_DB_ALIAS in settings.DATABASES:
            return REPLICA_DB_ALIAS
        # Explicitly default: an object read from the replica inside a block must not pull its
        # related rows from the replica once the block has ended.
        return DEFAULT_DB_ALIAS

    def db_for_write(self, model, **hints) -> str:
        state = _lagging.get()
        if state is not None:
            state.wrote = True
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints) -> bool | None:
        # Both aliases hold the same rows, so an object read from one may point at one from the other.
        if obj1._state.db in _ALIASES and obj2._state.db in _ALIASES:
            return True
        return None

    def allow_migrate(self, db, app_label, model_name=None, **hints) -> bool:
        return db == DEFAULT_DB_ALIAS
