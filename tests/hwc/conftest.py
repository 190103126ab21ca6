import pytest

from .factories import Network, build_network


@pytest.fixture
def network(db) -> Network:
    return build_network()
