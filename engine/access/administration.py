"""The administrator's work: people (roles, dirección, active, password) and catalogue entries.

Every change is checked (errors per field, in Spanish, as ``FormErrors``), made in one
transaction and audited with what it was before and after. Nobody is ever deleted: a person
who leaves is deactivated (their claimed tasks go back to their role's bandeja) and a
catalogue entry is retired, so old cases still name them.
"""

from __future__ import annotations

import re
from typing import Any, TypedDict

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.access.accounts import Actor, access_changed, create_user, end_sessions, hash_password
from engine.access.permissions import may_administer
from engine.access.roles import ROLES
from engine.audit import trail as audit
from engine.cases import assignment
from engine.db.models import CatalogItem, User, UserRole
from engine.errors import Forbidden, FormErrors, NotFound
from engine.facade import Atiende
from engine.forms import catalogs
from engine.mail import addresses

MIN_PASSWORD = 10
CATALOG_TITLES = {
    "direcciones": "Direcciones",
    "corregimientos": "Corregimientos",
    "tipos_caso": "Tipos de caso",
    "canales": "Canales",
}
_USERNAME = re.compile(r"^[a-z0-9._-]{3,50}$")
_CODE = re.compile(r"^[a-z0-9_]{2,100}$")


def _require_admin(actor: Actor) -> None:
    if not may_administer(actor):
        raise Forbidden("solo el administrador puede hacer este cambio")


class _Profile(TypedDict):
    full_name: str
    email: str | None
    roles: list[str]
    direccion: str | None


def _snapshot(user: User) -> dict[str, Any]:
    return {
        "nombre": user.full_name,
        "correo": user.email,
        "roles": sorted(user.role_codes),
        "direccion": user.direccion,
        "activo": user.active,
    }


def _profile(session: Session, values: dict[str, Any]) -> tuple[_Profile, dict[str, str]]:
    """Name, e-mail, roles and dirección from a form, checked; the dirección only for an enlace."""
    errors: dict[str, str] = {}
    full_name = (values.get("nombre") or "").strip()
    if not full_name:
        errors["nombre"] = "Este campo es obligatorio."
    elif len(full_name) > 200:
        errors["nombre"] = "No puede superar 200 caracteres."
    email = (values.get("correo") or "").strip() or None
    if email and (wrong := addresses.problem(email)):
        errors["correo"] = wrong
    roles = sorted(set(values.get("roles") or []))
    if not roles:
        errors["roles"] = "Elija al menos un rol."
    elif set(roles) - set(ROLES):
        errors["roles"] = "Elija roles de la lista."
    direccion = (values.get("direccion") or "").strip() or None
    if "enlace" in roles:
        if direccion is None:
            errors["direccion"] = "Un enlace debe pertenecer a una dirección."
        elif direccion not in catalogs.codes(session, {"direcciones"})["direcciones"]:
            errors["direccion"] = "Elija una dirección de la lista."
    else:
        direccion = None
    return {"full_name": full_name, "email": email, "roles": roles, "direccion": direccion}, errors


def _password_error(password: str) -> str | None:
    if len(password or "") < MIN_PASSWORD:
        return f"La contraseña debe tener al menos {MIN_PASSWORD} caracteres."
    return None


def add_user(atiende: Atiende, values: dict[str, Any], actor: Actor) -> int:
    """Create a person from the admin's form; returns the new user's id."""
    _require_admin(actor)
    with atiende.unit_of_work() as s:
        profile, errors = _profile(s, values)
        username = (values.get("usuario") or "").strip().lower()
        if not _USERNAME.match(username):
            errors["usuario"] = "De 3 a 50 letras minúsculas, números, punto, guion o guion bajo."
        elif s.scalar(select(User.id).where(User.username == username)) is not None:
            errors["usuario"] = "Ya existe un usuario con ese nombre."
        problem = _password_error(values.get("contrasena", ""))
        if problem:
            errors["contrasena"] = problem
        if errors:
            raise FormErrors(errors)
        user = create_user(
            s,
            username,
            profile["full_name"],
            values["contrasena"],
            profile["roles"],
            email=profile["email"],
            direccion=profile["direccion"],
        )
        audit.record(
            s, atiende.now(), actor.username, "usuario_creado", detail={"usuario": username, "despues": _snapshot(user)}
        )
        return user.id


def update_user(atiende: Atiende, user_id: int, values: dict[str, Any], actor: Actor) -> None:
    """Change a person's name, e-mail, roles and dirección."""
    _require_admin(actor)
    with atiende.unit_of_work() as s:
        user = _user(s, user_id)
        profile, errors = _profile(s, values)
        if user.username == actor.username and "admin" not in profile["roles"]:
            errors["roles"] = "No puede quitarse a sí mismo el rol de administrador."
        if errors:
            raise FormErrors(errors)
        before = _snapshot(user)
        user.full_name, user.email, user.direccion = profile["full_name"], profile["email"], profile["direccion"]
        kept = [r for r in user.roles if r.role in profile["roles"]]
        user.roles = kept + [UserRole(role=r) for r in profile["roles"] if r not in {k.role for k in kept}]
        s.flush()
        after = _snapshot(user)
        if after != before:
            access_changed(s)
            audit.record(
                s,
                atiende.now(),
                actor.username,
                "usuario_modificado",
                detail={"usuario": user.username, "antes": before, "despues": after},
            )


def set_active(atiende: Atiende, user_id: int, active: bool, actor: Actor) -> int:
    """Activate or deactivate a person; deactivating releases their claimed tasks (returns how many)."""
    _require_admin(actor)
    with atiende.unit_of_work() as s:
        user = _user(s, user_id)
        if user.username == actor.username and not active:
            raise FormErrors({"activo": "No puede desactivar su propia cuenta."})
        if user.active == active:
            return 0
        now = atiende.now()
        user.active = active
        access_changed(s)
        released = 0
        if not active:
            end_sessions(s, user.id)  # ended, not suspended: reactivating does not bring them back
            released = assignment.release_all_of(s, user.username, actor.username, now)
        audit.record(
            s,
            now,
            actor.username,
            "usuario_activado" if active else "usuario_desactivado",
            detail={"usuario": user.username, "tareas_liberadas": released},
        )
        return released


def reset_password(atiende: Atiende, user_id: int, password: str, actor: Actor) -> None:
    """Give a person a new password (the admin tells it to them); the sessions opened with the old one end."""
    _require_admin(actor)
    problem = _password_error(password)
    if problem:
        raise FormErrors({"contrasena": problem})
    with atiende.unit_of_work() as s:
        user = _user(s, user_id)
        user.password_hash = hash_password(password)
        end_sessions(s, user.id)
        audit.record(s, atiende.now(), actor.username, "contrasena_restablecida", detail={"usuario": user.username})


def users(session: Session) -> list[User]:
    """Everyone, active first, by name."""
    return list(session.scalars(select(User).order_by(User.active.desc(), User.full_name)))


def _user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("el usuario no existe")
    return user


# -- catalogues ---------------------------------------------------------------------------
def catalog_names(session: Session) -> dict[str, str]:
    """The catalogues that exist (name → title), by title."""
    names = session.scalars(select(CatalogItem.catalog).distinct())
    return dict(
        sorted(((n, CATALOG_TITLES.get(n, n.replace("_", " ").capitalize())) for n in names), key=lambda pair: pair[1])
    )


def items(session: Session, catalog: str) -> list[CatalogItem]:
    """Every entry of a catalogue, retired ones included, active first, by label."""
    _catalog(session, catalog)
    return list(
        session.scalars(
            select(CatalogItem)
            .where(CatalogItem.catalog == catalog)
            .order_by(CatalogItem.active.desc(), CatalogItem.label)
        )
    )


def add_item(atiende: Atiende, catalog: str, code: str, label: str, actor: Actor) -> None:
    _require_admin(actor)
    code, label = (code or "").strip().lower(), (label or "").strip()
    errors = {}
    if not _CODE.match(code):
        errors["codigo"] = "De 2 a 100 letras minúsculas sin tildes, números o guion bajo."
    errors.update(_label_error(label))
    with atiende.unit_of_work() as s:
        _catalog(s, catalog)
        if (
            "codigo" not in errors
            and s.scalar(select(CatalogItem.id).where(CatalogItem.catalog == catalog, CatalogItem.code == code))
            is not None
        ):
            errors["codigo"] = "Ya existe una entrada con ese código."
        if errors:
            raise FormErrors(errors)
        s.add(CatalogItem(catalog=catalog, code=code, label=label, extra={}, active=True))
        audit.record(
            s,
            atiende.now(),
            actor.username,
            "catalogo_agregado",
            detail={"catalogo": catalog, "codigo": code, "etiqueta": label},
        )
    atiende.catalog_cache.invalidate()  # forms of this process accept the new code at once


def rename_item(atiende: Atiende, item_id: int, label: str, actor: Actor) -> None:
    _require_admin(actor)
    label = (label or "").strip()
    errors = _label_error(label)
    if errors:
        raise FormErrors(errors)
    with atiende.unit_of_work() as s:
        item = _item(s, item_id)
        if item.label != label:
            audit.record(
                s,
                atiende.now(),
                actor.username,
                "catalogo_renombrado",
                detail={"catalogo": item.catalog, "codigo": item.code, "antes": item.label, "despues": label},
            )
            item.label = label
    atiende.catalog_cache.invalidate()  # papers of this process name the new label at once


def set_item_active(atiende: Atiende, item_id: int, active: bool, actor: Actor) -> None:
    _require_admin(actor)
    with atiende.unit_of_work() as s:
        item = _item(s, item_id)
        if item.active != active:
            item.active = active
            audit.record(
                s,
                atiende.now(),
                actor.username,
                "catalogo_activado" if active else "catalogo_desactivado",
                detail={"catalogo": item.catalog, "codigo": item.code},
            )
    atiende.catalog_cache.invalidate()


def _label_error(label: str) -> dict[str, str]:
    if not label:
        return {"etiqueta": "Este campo es obligatorio."}
    if len(label) > 200:
        return {"etiqueta": "No puede superar 200 caracteres."}
    return {}


def _catalog(session: Session, catalog: str) -> None:
    if session.scalar(select(CatalogItem.id).where(CatalogItem.catalog == catalog).limit(1)) is None:
        raise NotFound("el catálogo no existe")


def _item(session: Session, item_id: int) -> CatalogItem:
    item = session.get(CatalogItem, item_id)
    if item is None:
        raise NotFound("la entrada del catálogo no existe")
    return item
