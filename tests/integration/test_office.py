"""Internal notes, the administrator's changes and sign-in throttling, on SQLite and PostgreSQL."""

import pytest
from sqlalchemy import select

from engine.access import administration, signin
from engine.access.accounts import Actor
from engine.cases import assignment, notes
from engine.db.models import AuditEvent, CaseNote, CatalogItem, User
from engine.errors import Forbidden, FormErrors, Throttled
from tests.fixtures.desk import ENLACE, OPERADOR

ADMIN = Actor("admin", frozenset({"admin"}))
AUDITOR = Actor("auditor", frozenset({"auditor"}))
PERSON = {
    "usuario": "olga",
    "nombre": "Olga Operadora",
    "correo": "olga@example.com",
    "roles": ["operador"],
    "direccion": "",
    "contrasena": "una-clave-larga",
}


def events(atiende, kind):
    with atiende.store.read() as s:
        return s.scalars(select(AuditEvent).where(AuditEvent.kind == kind).order_by(AuditEvent.id)).all()


def test_notes_are_audited_by_reference_and_refused_to_the_auditor_and_other_direcciones(atiende, desk):
    case_id = desk.start()
    note_id = notes.add(atiende, case_id, "  El ciudadano llamó para ampliar la queja.  ", OPERADOR)
    with atiende.store.read() as s:
        [note] = s.scalars(select(CaseNote).where(CaseNote.case_id == case_id))
    assert (note.id, note.text, note.author) == (note_id, "El ciudadano llamó para ampliar la queja.", "operador")
    [event] = events(atiende, "nota_interna")
    assert event.case_id == case_id and event.detail == {"nota": note_id}  # the text stays in the note
    with pytest.raises(FormErrors) as empty:
        notes.add(atiende, case_id, "   ", OPERADOR)
    assert empty.value.errors == {"texto": "Escriba la nota."}
    with pytest.raises(Forbidden):
        notes.add(atiende, case_id, "Nada", AUDITOR)
    with pytest.raises(Forbidden):
        notes.add(atiende, case_id, "Nada", ENLACE)  # the case is not (yet) of the enlace's dirección


def test_people_are_created_changed_and_deactivated_with_every_change_audited(atiende, desk):
    with pytest.raises(FormErrors) as invalid:
        administration.add_user(atiende, {**PERSON, "usuario": "O", "roles": ["enlace"], "contrasena": "corta"}, ADMIN)
    assert set(invalid.value.errors) == {"usuario", "direccion", "contrasena"}
    with pytest.raises(Forbidden):
        administration.add_user(atiende, PERSON, OPERADOR)
    user_id = administration.add_user(atiende, PERSON, ADMIN)
    with pytest.raises(FormErrors, match="Ya existe"):
        administration.add_user(atiende, PERSON, ADMIN)

    olga = Actor("olga", frozenset({"operador"}))
    case_id = desk.start()
    [task] = desk.tasks(case_id)
    assignment.claim(atiende, task.id, olga)
    administration.update_user(
        atiende, user_id, {**PERSON, "roles": ["operador", "enlace"], "direccion": "gestion_ambiental"}, ADMIN
    )
    assert administration.set_active(atiende, user_id, False, ADMIN) == 1  # her claimed task went back
    with atiende.store.read() as s:
        user = s.get(User, user_id)
        assert (user.active, user.direccion, sorted(user.role_codes)) == (
            False,
            "gestion_ambiental",
            ["enlace", "operador"],
        )
    assert [t.assignee for t in desk.tasks(case_id)] == [None]
    assert signin.authenticate(atiende, "olga", "una-clave-larga", "127.0.0.1") is None  # deactivated

    administration.set_active(atiende, user_id, True, ADMIN)
    administration.reset_password(atiende, user_id, "otra-clave-larga", ADMIN)
    assert signin.authenticate(atiende, "olga", "otra-clave-larga", "127.0.0.1").username == "olga"
    [changed] = events(atiende, "usuario_modificado")
    assert (
        changed.detail["antes"]["roles"] == ["operador"]
        and changed.detail["despues"]["direccion"] == "gestion_ambiental"
    )
    assert [e.detail["tareas_liberadas"] for e in events(atiende, "usuario_desactivado")] == [1]
    assert len(events(atiende, "contrasena_restablecida")) == 1 and "otra-clave" not in str(
        events(atiende, "contrasena_restablecida")[0].detail
    )


def test_the_administrator_cannot_lock_themself_out(atiende):
    admin_id = administration.add_user(atiende, {**PERSON, "usuario": "admin", "roles": ["admin"]}, ADMIN)
    with pytest.raises(FormErrors, match="su propia cuenta"):
        administration.set_active(atiende, admin_id, False, ADMIN)
    with pytest.raises(FormErrors, match="rol de administrador"):
        administration.update_user(atiende, admin_id, {**PERSON, "roles": ["operador"]}, ADMIN)


def test_catalogue_entries_are_added_renamed_and_retired_never_deleted(atiende):
    administration.add_item(atiende, "direcciones", "aseo_urbano", "Dirección de Aseo Urbano", ADMIN)
    with pytest.raises(FormErrors) as invalid:
        administration.add_item(atiende, "direcciones", "aseo_urbano", "", ADMIN)
    assert set(invalid.value.errors) == {"codigo", "etiqueta"}
    with atiende.store.read() as s:
        item = s.scalar(select(CatalogItem).where(CatalogItem.code == "aseo_urbano"))
    administration.rename_item(atiende, item.id, "Autoridad de Aseo Urbano", ADMIN)
    administration.set_item_active(atiende, item.id, False, ADMIN)
    with atiende.store.read() as s:
        assert [i.code for i in administration.items(s, "direcciones")][-1] == "aseo_urbano"  # retired: last
        assert s.get(CatalogItem, item.id).label == "Autoridad de Aseo Urbano"
        assert "direcciones" in administration.catalog_names(s)
    assert [e.kind for e in events(atiende, "catalogo_renombrado") + events(atiende, "catalogo_desactivado")] == [
        "catalogo_renombrado",
        "catalogo_desactivado",
    ]


def test_sign_in_is_refused_past_five_failures_for_a_username_at_an_address_even_with_the_right_password(
    atiende, frozen_clock
):
    administration.add_user(atiende, PERSON, ADMIN)
    for attempt in range(signin.PER_ACCOUNT_AT_ADDRESS[0].hits):
        assert signin.authenticate(atiende, "olga", f"mala-{attempt}", "10.0.0.1") is None
    with pytest.raises(Throttled) as throttled:
        signin.authenticate(atiende, "OLGA", "una-clave-larga", "10.0.0.1")
    assert throttled.value.minutes == 15
    frozen_clock.advance(minutes=16)
    assert signin.authenticate(atiende, "olga", "una-clave-larga", "10.0.0.1").username == "olga"


def test_sign_in_is_refused_past_twenty_failures_from_one_address(atiende):
    for attempt in range(signin.PER_ADDRESS[0].hits):
        assert signin.authenticate(atiende, f"nadie{attempt}", "x", "10.9.9.9") is None
    with pytest.raises(Throttled):
        signin.authenticate(atiende, "otro", "x", "10.9.9.9")
    assert signin.authenticate(atiende, "otro", "x", "10.9.9.10") is None  # another address may still try
