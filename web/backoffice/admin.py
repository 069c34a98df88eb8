"""Administration: people (roles, dirección, active, password) and the editable catalogues.

The whole blueprint is for administrators (checked before every view); each change is one
call to ``engine.access.administration``, which checks, audits and commits it.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from engine.access import administration
from engine.access.accounts import actor_of
from engine.access.permissions import SEES_ALL_DIRECCIONES, direccion_scope, may_administer, may_read_cases
from engine.access.roles import ROLES
from engine.cases import queries
from engine.errors import FormErrors, NotFound
from engine.forms import catalogs
from web.ui.context import actor, atiende

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
def _only_administrators():
    if not may_administer(actor()):
        abort(403, "Solo el administrador puede entrar a la administración.")


@bp.get("/usuarios")
def usuarios():
    """Everyone who may sign in, active first."""
    with atiende().store.read() as s:
        people = administration.users(s)
        direcciones = dict((i.code, i.label) for i in catalogs.entries(s, "direcciones"))
    return render_template("admin/usuarios.html", people=people, roles=ROLES, direcciones=direcciones)


@bp.route("/usuarios/nuevo", methods=("GET", "POST"))
def usuario_nuevo():
    """Create a person."""
    if request.method == "POST":
        values = _person_values()
        try:
            user_id = administration.add_user(atiende(), values, actor())
        except FormErrors as invalid:
            return _person_page(None, values, invalid.errors), 422
        flash("Usuario creado.", "exito")
        return redirect(url_for("admin.usuario", user_id=user_id))
    return _person_page(None, {"roles": []})


@bp.route("/usuarios/<int:user_id>", methods=("GET", "POST"))
def usuario(user_id: int):
    """A person's profile and roles; the page also resets the password and (de)activates."""
    if request.method == "POST":
        values = _person_values()
        try:
            administration.update_user(atiende(), user_id, values, actor())
        except FormErrors as invalid:
            return _person_page(user_id, values, invalid.errors), 422
        flash("Cambios guardados.", "exito")
        return redirect(url_for("admin.usuario", user_id=user_id))
    return _person_page(user_id)


@bp.post("/usuarios/<int:user_id>/contrasena")
def contrasena(user_id: int):
    try:
        administration.reset_password(atiende(), user_id, request.form.get("contrasena", ""), actor())
    except FormErrors as invalid:
        return _person_page(user_id, errors=invalid.errors), 422
    flash("Contraseña restablecida. Comuníquela a la persona por un medio seguro.", "exito")
    return redirect(url_for("admin.usuario", user_id=user_id))


@bp.post("/usuarios/<int:user_id>/activo")
def activo(user_id: int):
    active = request.form.get("activo") == "1"
    try:
        released = administration.set_active(atiende(), user_id, active, actor())
    except FormErrors as invalid:
        return _person_page(user_id, errors=invalid.errors), 422
    message = "Usuario activado." if active else f"Usuario desactivado; {released} tarea(s) tomada(s) liberada(s)."
    flash(message, "exito")
    return redirect(url_for("admin.usuario", user_id=user_id))


@bp.get("/catalogos")
def catalogos():
    with atiende().store.read() as s:
        names = administration.catalog_names(s)
    return render_template("admin/catalogos.html", names=names)


@bp.route("/catalogos/<catalog>", methods=("GET", "POST"))
def catalogo(catalog: str):
    """A catalogue's entries; POST adds one."""
    if request.method == "POST":
        values = {"codigo": request.form.get("codigo", ""), "etiqueta": request.form.get("etiqueta", "")}
        try:
            administration.add_item(atiende(), catalog, values["codigo"], values["etiqueta"], actor())
        except FormErrors as invalid:
            return _catalog_page(catalog, values, invalid.errors), 422
        flash("Entrada agregada.", "exito")
        return redirect(url_for("admin.catalogo", catalog=catalog))
    return _catalog_page(catalog)


@bp.post("/catalogos/<catalog>/<int:item_id>")
def entrada(catalog: str, item_id: int):
    """Rename an entry, or retire / bring it back."""
    try:
        if "activo" in request.form:
            administration.set_item_active(atiende(), item_id, request.form["activo"] == "1", actor())
        else:
            administration.rename_item(atiende(), item_id, request.form.get("etiqueta", ""), actor())
    except FormErrors as invalid:
        return _catalog_page(catalog, errors={f"{item_id}": invalid.errors.get("etiqueta", "")}), 422
    flash("Entrada actualizada.", "exito")
    return redirect(url_for("admin.catalogo", catalog=catalog) + f"#entrada-{item_id}")


def _person_values() -> dict:
    form = request.form
    return {
        "usuario": form.get("usuario", ""),
        "nombre": form.get("nombre", ""),
        "correo": form.get("correo", ""),
        "roles": form.getlist("roles"),
        "direccion": form.get("direccion", ""),
        "contrasena": form.get("contrasena", ""),
    }


def _person_page(user_id: int | None, values: dict | None = None, errors: dict | None = None):
    with atiende().store.read() as s:
        person = None
        if user_id is not None:
            person = queries.user(s, user_id)
            if person is None:
                raise NotFound("el usuario no existe")
        if values is None:
            assert person is not None  # only the edit pages (a user_id) come without values
            values = {
                "nombre": person.full_name,
                "correo": person.email or "",
                "roles": sorted(person.role_codes),
                "direccion": person.direccion or "",
            }
        direcciones = catalogs.entries(s, "direcciones")
        scope = _reach(person, {item.code: item.label for item in direcciones}) if person is not None else None
    return render_template(
        "admin/usuario.html",
        person=person,
        values=values,
        errors=errors or {},
        roles=ROLES,
        direcciones=direcciones,
        reach=scope,
        sees_all=sorted(ROLES[role] for role in SEES_ALL_DIRECCIONES),
    )


def _reach(person, labels: dict[str, str]) -> str:
    """How far the person's saved roles let them see cases, in words (``permissions.direccion_scope``)."""
    who = actor_of(person)
    if not may_read_cases(who):
        return "No consulta casos."
    scope = direccion_scope(who)
    if scope is None:
        return "Ve los casos de todas las direcciones."
    if not scope:
        return "Limitado a su dirección, pero no tiene una asignada: no ve ningún caso."
    return f"Limitado a su dirección: {labels.get(scope, scope)}. Solo ve los casos, documentos y tareas de ella."


def _catalog_page(catalog: str, values: dict | None = None, errors: dict | None = None):
    with atiende().store.read() as s:
        entries = administration.items(s, catalog)
        title = administration.catalog_names(s).get(catalog, catalog)
    return render_template(
        "admin/catalogo.html", catalog=catalog, title=title, entries=entries, values=values or {}, errors=errors or {}
    )
