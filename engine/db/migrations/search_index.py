"""The cases' search index and the triggers on ``cases`` that keep it (migrations 0004 and 0031).

A case's searched text is its ticket, cédula, name, subject, e-mail and description. On SQLite
the index is an FTS5 table without content of its own, whose triggers must delete a row with
exactly the values it was inserted with; on PostgreSQL a table of tsvector documents with a GIN
index. Both fold case and accents, so «perez» finds «Pérez».

Where the description is read from moved: 0004 read it inside the case's JSON record, 0031
from its own column, once the record is stored packed (``engine.db.packing``). Each builder here
takes that place as ``description(row)``, a SQL expression of ``new``, ``old`` or ``cases``.
"""

from __future__ import annotations

from collections.abc import Callable

from alembic import op

from engine.db.models import DESCRIPTION_FIELD

Description = Callable[[str], str]

_COLUMNS = ("ticket", "citizen_cedula", "citizen_name", "subject", "citizen_email")
_FTS_COLUMNS = "rowid, ticket, cedula, nombre, texto"


def in_record(dialect: str) -> Description:
    """The description inside the case's JSON record (0004 to 0030)."""
    if dialect == "sqlite":
        return lambda row: f"json_extract({row}.data, '$.{DESCRIPTION_FIELD}')"
    return lambda row: f"{row}.data ->> '{DESCRIPTION_FIELD}'"


def in_column(row: str) -> str:
    """The description in its own column (0031 on)."""
    return f"{row}.description"


# -- SQLite: an FTS5 table --------------------------------------------------------------------
def _fts_values(row: str, description: Description) -> str:
    """The FTS columns of a case row; a delete must repeat its insert exactly."""
    return (
        f"{row}.id, {row}.ticket, coalesce({row}.citizen_cedula, ''), coalesce({row}.citizen_name, ''), "
        f"coalesce({row}.subject, '') || ' ' || coalesce({row}.citizen_email, '') || ' ' || "
        f"coalesce({description(row)}, '')"
    )


def _sqlite_fill(description: Description) -> str:
    return f"INSERT INTO case_fts({_FTS_COLUMNS}) SELECT {_fts_values('cases', description)} FROM cases"


def sqlite_table(description: Description) -> list[str]:
    """The FTS5 table, filled from the cases there are."""
    return [
        "CREATE VIRTUAL TABLE case_fts USING fts5(ticket, cedula, nombre, texto, content='', "
        "tokenize='unicode61 remove_diacritics 2')",
        _sqlite_fill(description),
    ]


def sqlite_triggers(description: Description) -> list[str]:
    changed = " OR ".join(
        [f"old.{c} IS NOT new.{c}" for c in _COLUMNS] + [f"{description('old')} IS NOT {description('new')}"]
    )
    removed = f"INSERT INTO case_fts(case_fts, {_FTS_COLUMNS}) VALUES ('delete', {_fts_values('old', description)});"
    added = f"INSERT INTO case_fts({_FTS_COLUMNS}) VALUES ({_fts_values('new', description)});"
    return [
        f"CREATE TRIGGER case_fts_insert AFTER INSERT ON cases BEGIN {added} END",
        f"CREATE TRIGGER case_fts_update AFTER UPDATE ON cases WHEN {changed} BEGIN {removed} {added} END",
        f"CREATE TRIGGER case_fts_delete AFTER DELETE ON cases BEGIN {removed} END",
    ]


# -- PostgreSQL: tsvector documents -----------------------------------------------------------
def pg_document(row: str, description: Description) -> str:
    """The text search document of a case row: accents folded, and - . @ _ / splitting words as
    SQLite's unicode61 tokenizer does (PostgreSQL's parser keeps «-000002» or an e-mail whole)."""
    text = " || ' ' || ".join(f"coalesce({row}.{c}, '')" for c in _COLUMNS)
    # strip(): no word positions (nothing ranks or matches phrases), a third fewer pages to read.
    return (
        f"strip(to_tsvector('simple'::regconfig, translate(lower({text} || ' ' || "
        f"coalesce({description(row)}, '')), 'áàâäéèêëíìîïóòôöúùûüñç-.@_/', 'aaaaeeeeiiiioooouuuunc     ')))"
    )


# A narrow table of documents rather than an expression index on cases: the index finds the
# matches, and reading a match's row (to order and page) touches a small row, not a case.
def pg_table(description: Description) -> list[str]:
    """The documents' table and its index, filled from the cases there are."""
    return [
        "CREATE TABLE case_fts (case_id integer PRIMARY KEY REFERENCES cases (id) ON DELETE CASCADE, "
        "document tsvector NOT NULL)",
        "CREATE INDEX case_fts_document ON case_fts USING gin (document)",
        f"INSERT INTO case_fts (case_id, document) SELECT id, {pg_document('cases', description)} FROM cases",
    ]


def pg_triggers(description: Description) -> list[str]:
    """The function writing a case's document (made or replaced) and the triggers calling it."""
    changed = " OR ".join(
        [f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in _COLUMNS]
        + [f"{description('OLD')} IS DISTINCT FROM {description('NEW')}"]
    )
    return [
        f"""CREATE OR REPLACE FUNCTION case_fts_refresh() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          INSERT INTO case_fts (case_id, document) VALUES (NEW.id, {pg_document("NEW", description)})
          ON CONFLICT (case_id) DO UPDATE SET document = EXCLUDED.document;
          RETURN NULL;
        END $$""",
        "CREATE TRIGGER case_fts_insert AFTER INSERT ON cases FOR EACH ROW EXECUTE FUNCTION case_fts_refresh()",
        f"CREATE TRIGGER case_fts_update AFTER UPDATE ON cases FOR EACH ROW WHEN ({changed}) "
        "EXECUTE FUNCTION case_fts_refresh()",
    ]


def create_triggers(description: Description) -> None:
    """The triggers for the database at hand (on PostgreSQL with their function, made or replaced)."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    for statement in sqlite_triggers(description) if sqlite else pg_triggers(description):
        op.execute(statement)


def refill(description: Description) -> None:
    """SQLite: the index emptied and filled again from the cases, when what it was filled with may differ
    from what ``description`` reads now (a table without content deletes only the exact values it is
    told). PostgreSQL's documents are written whole on every change: nothing to do."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute("INSERT INTO case_fts(case_fts) VALUES ('delete-all')")
        op.execute(_sqlite_fill(description))


def drop_triggers() -> None:
    """The triggers either database has on cases for the index (PostgreSQL's function stays)."""
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER case_fts_{trigger}")
    else:
        for trigger in ("insert", "update"):
            op.execute(f"DROP TRIGGER case_fts_{trigger} ON cases")
