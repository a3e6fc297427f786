"""A task for the multi-worker test (test_workers.py): small, importable by a `guatu db_worker`."""

import os
import time

from django_tasks import task


@task()
def record_job(*, path: str, number: int) -> int:
    """Append "<number> <pid>" to the file: one write with O_APPEND, so lines from two processes never
    interleave, and a job run twice shows up twice."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, f"{number} {os.getpid()}\n".encode())
    finally:
        os.close(fd)
    # Long enough that one worker cannot empty the queue before the other polls it.
    time.sleep(0.02)
    return number
