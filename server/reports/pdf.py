"""The campaign report as a PDF (fpdf2): summary, charts, by hour, by agent
line, by result and failure cause, in Korean with NanumGothic embedded
(a subset of its glyphs), so it reads the same on any PC and prints.

The charts are the page's own (``charts.py``), as 160 dpi PNG (fpdf2 reads
matplotlib's SVG too, but took 0.9 s of a 2.6 s report parsing it).
No phone number or name appears in the report.
"""

from __future__ import annotations

import io
import logging
from typing import Callable

from . import charts, tables
from .writers import cell_value

# fpdf2 skips the SVG's <metadata> and fontTools the font's hinting sources
# (TSI*), both harmless; each would log a warning per chart and per report.
for _name in ("fpdf.svg", "fontTools.subset"):
    logging.getLogger(_name).setLevel(logging.ERROR)

class FontMissing(RuntimeError):
    user_message = "PDF 보고서에 쓸 한글 글꼴(NanumGothic)이 서버에 없습니다. 서버 PC에서 'apt-get install fonts-nanum'을 실행하세요."


def _text(column, row, tr) -> str:
    value = cell_value(column, row, tr)
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def report(stats, tr: Callable[[str], str], *, title: str, subtitle: str, made_at: str) -> bytes:
    from fpdf import FPDF
    from fpdf.fonts import FontFace

    font = charts.korean_font()
    if font is None:
        raise FontMissing(FontMissing.user_message)
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_title(title)
    pdf.set_creator("Mobile ARS")
    pdf.add_font("Korean", "", str(font))      # one face: reading a TTF costs about 0.5 s
    pdf.set_auto_page_break(True, margin=15)
    pdf.set_font("Korean", size=10)
    pdf.add_page()
    pdf.set_font("Korean", size=17)
    pdf.cell(0, 10, title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Korean", size=10)
    pdf.cell(0, 6, subtitle, new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(110)
    pdf.cell(0, 6, f"{tr('만든 시각')}: {made_at}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0)
    pdf.ln(2)
    heading = FontFace(fill_color=(232, 238, 247))
    pictures = charts.page_charts(stats, tr, fmt="png")

    def section(name: str) -> None:
        pdf.ln(3)
        pdf.set_font("Korean", size=13)
        pdf.cell(0, 8, tr(name), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Korean", size=9)

    def table(columns, rows, widths=None) -> None:
        with pdf.table(col_widths=widths, headings_style=heading, line_height=5.5,
                       text_align="LEFT", padding=1) as out:
            header = out.row()
            for column in columns:
                header.cell(tr(column.header) + (" (%)" if column.kind == "percent" else ""))
            for row in rows:
                line = out.row()
                for column in columns:
                    line.cell(_text(column, row, tr))

    def picture(name: str, width: float) -> None:
        pdf.image(io.BytesIO(pictures[name]), w=width, x=(pdf.w - width) / 2)

    blocks = {key: (title_, columns, rows) for key, title_, columns, rows in tables.statistics_tables(stats)}
    section("요약")
    table(*blocks["summary"][1:], widths=(3, 1))
    section("시간대별")
    picture("hourly", 180)
    table(*blocks["hourly"][1:])
    pdf.add_page()
    section("상담원별")
    picture("agents", 120)
    table(*blocks["agents"][1:])
    section("결과별")
    picture("results", 110)
    table(*blocks["results"][1:])
    section("미연결·실패 원인")
    picture("failures", 110)
    table(*blocks["failures"][1:])
    return bytes(pdf.output())
