"""Speeches: services. Sections: the library (import, search, pages) and the breakdown (review of
extracted items, targets and supervised tasks, exports)."""

# --- library


# --- breakdown
