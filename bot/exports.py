"""Files for moderators: tables as CSV (with a BOM, so Excel reads UTF-8) and XLSX."""

from __future__ import annotations

import csv
import io


def csv_bytes(summary: list[list[str]], table: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerows(summary)
    writer.writerow([])
    writer.writerows(table)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")  # the BOM lets Excel read UTF-8


def xlsx_bytes(summary: list[list[str]], table: list[list[str]]) -> bytes:
    from openpyxl import Workbook  # loaded when an export is asked for, not at start

    book = Workbook()
    sheet = book.active
    sheet.title = "Summary"
    for row in summary:
        sheet.append(row)
    rows_sheet = book.create_sheet("Rows")
    for row in table:
        rows_sheet.append(row)
    output = io.BytesIO()
    book.save(output)
    return output.getvalue()
