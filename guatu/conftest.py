import pytest


@pytest.fixture
def world(db):
    from guatu.core.testing import make_world

    return make_world()
