import pytest

from engine.access.accounts import create_user
from engine.facade import Atiende
from tests.fixtures.desk import Desk
from tests.fixtures.paperwork import Office


@pytest.fixture
def atiende(store, frozen_clock):
    """The engine on a database where analista has deployed processes/ (note «prueba»): the store
    was copied from that template (tests/conftest.py, TEMPLATE_OF_FIXTURE)."""
    return Atiende(store, frozen_clock)


@pytest.fixture
def desk(atiende, frozen_clock):
    return Desk(atiende, frozen_clock)


@pytest.fixture
def office(store, frozen_clock):
    with store.unit_of_work() as s:
        create_user(
            s,
            "enlace",
            "Elena Enlace Ábrego",
            "x",
            ["enlace"],
            email="elena@planificacion.example",
            direccion="planificacion_urbana",
        )
        create_user(
            s,
            "enlace2",
            "Ñusta Núñez",
            "x",
            ["enlace"],
            email="nusta@planificacion.example",
            direccion="planificacion_urbana",
        )
        create_user(
            s,
            "enlace_ga",
            "Ernesto Ambiental",
            "x",
            ["enlace"],
            email="ernesto@ambiente.example",
            direccion="gestion_ambiental",
        )
        create_user(s, "coordinador", "Carlos Coordinador", "x", ["coordinador"], email="carlos@atiende.example")
    result = Office(Atiende(store, frozen_clock), frozen_clock)
    result.deploy()
    return result
