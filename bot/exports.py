"""Files for moderators: tables as CSV (with a BOM, so Excel reads UTF-8) and XLSX."""

from __future__ import annotations

import csv
import html
import io

# A cell a spreadsheet would run as a formula (CSV injection, OWASP): it starts with one of
# these. Residents write names, topic titles, poll options and report texts.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def defused(value: object) -> str:
    """A cell's text, made inert as OWASP recommends for CSV: a leading quote before a
    formula character (a spreadsheet shows the text, never runs it)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_bytes(summary: list[list[str]], table: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerows([[defused(cell) for cell in row] for row in summary])
    writer.writerow([])
    writer.writerows([[defused(cell) for cell in row] for row in table])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")  # the BOM lets Excel read UTF-8


def xlsx_bytes(summary: list[list[str]], table: list[list[str]]) -> bytes:
    """Two sheets, every cell written as text (a shared string), as OWASP recommends for
    XLSX: openpyxl would store a string that starts with "=" as a formula, so each cell's
    type is set to a string after its value. Text cells are shown as written, never run,
    so they need no leading quote."""
    from openpyxl import Workbook  # loaded when an export is asked for, not at start

    book = Workbook()
    sheet = book.active
    sheet.title = "Summary"
    rows_sheet = book.create_sheet("Rows")
    for target, rows in ((sheet, summary), (rows_sheet, table)):
        for number, row in enumerate(rows, start=1):
            for column, value in enumerate(row, start=1):
                cell = target.cell(row=number, column=column)
                cell.value = "" if value is None else str(value)
                cell.data_type = "s"
    output = io.BytesIO()
    book.save(output)
    return output.getvalue()


# reportlab's built-in Adobe CID font for Simplified Chinese: readers bring the glyphs, so
# no font file is shipped or embedded, and Latin text and digits print in it too.
CJK_FONT = "STSong-Light"


def pdf_bytes(title: str, paragraphs: list[str], table: list[list[str]]) -> bytes:
    """A printable A4 document: a title, paragraphs of plain text, then a table whose
    first row is its header (repeated on every page)."""
    from reportlab.lib import colors  # loaded when a notice is made, not at start
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    if CJK_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))
    heading = ParagraphStyle("heading", fontName=CJK_FONT, fontSize=16, leading=22,
                             spaceAfter=6 * mm, wordWrap="CJK")
    body = ParagraphStyle("body", fontName=CJK_FONT, fontSize=10.5, leading=15,
                          spaceAfter=2 * mm, wordWrap="CJK")
    output = io.BytesIO()
    document = SimpleDocTemplate(output, pagesize=A4, title=title, leftMargin=18 * mm,
                                 rightMargin=18 * mm, topMargin=18 * mm, bottomMargin=18 * mm)
    story: list = [Paragraph(html.escape(title), heading)]
    story += [Paragraph(html.escape(text), body) for text in paragraphs]
    if table:
        story.append(Spacer(1, 4 * mm))
        grid = Table(table, repeatRows=1, hAlign="LEFT")
        grid.setStyle(TableStyle([
            ("FONT", (0, 0), (-1, -1), CJK_FONT, 9.5),
            ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
            ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
        ]))
        story.append(grid)
    document.build(story)
    return output.getvalue()
