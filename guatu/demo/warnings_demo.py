"""Demo data for this part of the campaign (filled in by its app's work)."""

import datetime as dt


def build(*, today: dt.date, result) -> None:
    return None
