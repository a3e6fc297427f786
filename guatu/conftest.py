import pytest


@pytest.fixture
def world(db):
    from guatu.core.testing import make_world

    return make_world()


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test starts with an empty cache: what one test cached must not answer the next."""
    from django.core.cache import cache

    cache.clear()
    yield
