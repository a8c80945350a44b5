"""통계 and exports: what the manager takes out of the console.

Pure parts, no I/O: ``labels`` (the one Korean wording of every result,
reason and state), ``period`` (Asia/Seoul dates to epoch bounds),
``statistics`` (every number of the 통계 page, one function per
definition), ``tables`` (the rows of each export and statistics table),
``cells`` (a value made safe for a spreadsheet cell). Writers with file
output: ``writers`` (CSV with BOM, streamed; .xlsx in openpyxl's write-only
mode), ``charts`` (matplotlib, SVG for the page, PNG for the PDF), ``pdf``
(the campaign report, fpdf2 with NanumGothic embedded). The SQL they need
lives in ``server/db/reports.py``; the pages in ``server/console/statistics.py``
and ``server/console/exports.py``.
"""
