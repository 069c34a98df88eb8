"""A table of figures as a spreadsheet (XLSX) or as CSV: the indicators' exports.

Both keep text as text the way every other spreadsheet of the office does: the XLSX through
``documents._cell`` (the consolidado's), the CSV through ``engine.audit.log.csv_text`` (the audit
log's). A case's subject is the citizen's words; «=1+1» must reach the spreadsheet as «=1+1»,
never as a formula it runs (OWASP's CSV injection).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from engine.audit.log import csv_text
from engine.paperwork.documents import _cell

Value = str | int | float | None


def table_xlsx(title: str, subtitle: str, headers: Sequence[str], rows: Iterable[Sequence[Value]]) -> bytes:
    """One sheet: the title, a line saying what was asked (period, filters), the headers, the rows.

    openpyxl is imported here, by the exports alone (``engine.paperwork.documents`` says why)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    book = Workbook(write_only=True)
    sheet = book.create_sheet(_sheet_name(title))
    for index, header in enumerate(headers, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = max(12, min(40, len(header) + 4))
    bold = Font(bold=True)
    sheet.append([_cell(sheet, title, bold)])
    sheet.append([_cell(sheet, subtitle)])
    fill = PatternFill("solid", fgColor="DCE6F2")
    sheet.append([_cell(sheet, header, bold, fill) for header in headers])
    for row in rows:
        sheet.append([_cell(sheet, value) for value in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def table_csv(headers: Sequence[str], rows: Iterable[Sequence[Value]]) -> str:
    """The headers and rows as CSV, with a BOM so a spreadsheet reads the accents."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([csv_text(header) for header in headers])
    for row in rows:
        writer.writerow(["" if value is None else csv_text(value) for value in row])
    return "\ufeff" + buffer.getvalue()


def _sheet_name(title: str) -> str:
    """A sheet's name: at most 31 characters, none of those Excel refuses."""
    cleaned = "".join(" " if ch in "[]:*?/\\" else ch for ch in title).strip()
    return cleaned[:31] or "Tabla"
