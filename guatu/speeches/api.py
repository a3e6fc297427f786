"""Speeches: api. Sections: the library (import, search, pages) and the breakdown (review of
extracted items, targets and supervised tasks, exports)."""

# --- library


# --- breakdown


def register_routes(router) -> None:
    """Called by guatu/api_urls.py: each section registers its viewsets here."""
    # --- library routes
    # --- breakdown routes
