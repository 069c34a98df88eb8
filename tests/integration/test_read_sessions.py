"""Read sessions never write or lock (``engine.db.store``): on PostgreSQL they run in autocommit,
where a write would be kept at once and a row lock released at once."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, update

from engine.db.models import CatalogItem
from engine.db.store import ReadSessionMisuse


def _first_item(session) -> CatalogItem:
    item = session.scalars(select(CatalogItem).order_by(CatalogItem.id).limit(1)).first()
    assert item is not None, "the seeded database has catalogue items"
    return item


def test_a_flush_that_writes_is_refused(store):
    with store.read() as s:
        _first_item(s).label = "cambiado"
        with pytest.raises(ReadSessionMisuse):
            s.flush()


def test_an_object_changed_for_display_is_not_written(store):
    with store.read() as s:
        item = _first_item(s)
        item_id, label = item.id, item.label
        item.label = "solo para mostrar"
        assert _first_item(s).id == item_id  # a query does not flush the change
    with store.read() as s:
        assert s.get(CatalogItem, item_id).label == label


def test_dml_is_refused(store):
    with store.read() as s, pytest.raises(ReadSessionMisuse):
        s.execute(update(CatalogItem).values(label="x"))
    with store.read() as s:
        assert "x" not in {i.label for i in s.scalars(select(CatalogItem))}


def test_a_row_lock_is_refused(store):
    with store.read() as s, pytest.raises(ReadSessionMisuse):
        s.scalars(select(CatalogItem).with_for_update()).first()


def test_a_unit_of_work_still_writes_and_locks(store):
    with store.unit_of_work() as s:
        item = s.scalars(select(CatalogItem).order_by(CatalogItem.id).limit(1).with_for_update()).one()
        item.label = "cambiado en su unidad"
        item_id = item.id
    with store.read() as s:
        assert s.get(CatalogItem, item_id).label == "cambiado en su unidad"


def test_a_streamed_read_needs_a_snapshot(store):
    streamed = select(CatalogItem.id).execution_options(yield_per=2)
    with store.read() as s, pytest.raises(ReadSessionMisuse):
        s.execute(streamed).all()
    with store.snapshot() as s:
        with store.read() as plain:
            expected = plain.scalars(select(CatalogItem.id)).all()
        assert [row.id for row in s.execute(streamed)] == expected


def test_a_snapshot_sees_one_moment_and_refuses_to_write(store):
    with store.snapshot() as s:
        before = s.scalar(select(func.count()).select_from(CatalogItem))
        with store.unit_of_work() as other:  # another person writes meanwhile
            other.add(CatalogItem(catalog="corregimiento", code="nuevo", label="Nuevo", extra={}, active=True))
        assert s.scalar(select(func.count()).select_from(CatalogItem)) == before
        with pytest.raises(ReadSessionMisuse):
            s.execute(update(CatalogItem).values(label="x"))
    with store.read() as s:
        assert s.scalar(select(func.count()).select_from(CatalogItem)) == before + 1
