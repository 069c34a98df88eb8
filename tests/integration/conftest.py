import pytest

from engine.facade import Atiende
from tests.fixtures.desk import Desk


@pytest.fixture
def atiende(store, frozen_clock):
    engine = Atiende(store, frozen_clock)
    engine.deploy_directory("analista", note="prueba")
    return engine


@pytest.fixture
def desk(atiende, frozen_clock):
    return Desk(atiende, frozen_clock)
