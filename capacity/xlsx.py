"""The results as one Excel workbook (openpyxl): ``capacity export --format xlsx``.

Sheets
------
``README``
    What the workbook is: district, scenarios with their descriptions, run settings
    (version, seed, draws, years), which inputs are estimates, and every input's source
    (``sources.csv``) as a table; the inputs' SHA-256.
``gap``, ``plan_comparison``, ``indicators``, ``schedule``
    One sheet per table, the very figures of the CSV files of ``capacity run`` (the
    workbook is filled from the CSV bytes, so the two cannot disagree), with headers in the
    chosen language (:func:`capacity.i18n.column`; the CSV column name in a comment),
    stage and street names in that language, number formats (``#,##0`` for counts,
    ``0%`` for probabilities), the header row frozen, an auto filter, and gaps coloured
    (shortfall red, surplus blue; conditional formatting, so it follows edits).

The same results give the same bytes: the document's dates are fixed and the zip entries
carry a fixed timestamp.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

import capacity
from capacity.i18n import column, current, stage_name, tr

if TYPE_CHECKING:  # pragma: no cover
    from openpyxl.worksheet.worksheet import Worksheet

    from capacity.results.result import Results

#: The table sheets, in order (each from the CSV of the same name).
TABLES: tuple[str, ...] = ("gap", "plan_comparison", "indicators", "schedule")

#: Columns coloured as gaps (negative = shortfall).
GAP_COLUMNS = ("gap", "gap_public", "gap_after_projects", "gap_p10", "gap_p50", "gap_p90")

FIXED_TIME = dt.datetime(2020, 1, 1)
SHORT_FILL = "F4C7C3"
SURPLUS_FILL = "C6DBEF"
HEADER_FILL = "E7E6E6"


def _number_format(name: str, series: pd.Series) -> str | None:
    if name.startswith("p_") or name.endswith("_share"):
        return "0%"
    if "year" in name:
        return "0"
    if series.dtype.kind in "if":
        return "#,##0"
    return None


def _localise(frame: pd.DataFrame, results: Results) -> pd.DataFrame:
    """Stage and street names in the language in force."""
    if current() == "en":
        return frame
    frame = frame.copy()
    view = results.view()
    if "stage" in frame:
        frame["stage"] = [stage_name(view.stage_label(str(s)), str(s)) for s in frame["stage"]]
    if "area_code" in frame and "area_name" in frame:
        d = results.district
        zh = dict(zip(d.areas["area_code"], d.areas["name_zh"]))
        zh[d.code] = d.name_zh or d.name
        frame["area_name"] = [zh.get(str(c), n) for c, n in zip(frame["area_code"], frame["area_name"])]
    return frame


def _table_sheet(ws: Worksheet, frame: pd.DataFrame) -> None:
    from openpyxl.comments import Comment
    from openpyxl.formatting.rule import CellIsRule
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor=HEADER_FILL)
    for j, name in enumerate(frame.columns, start=1):
        cell = ws.cell(row=1, column=j, value=column(str(name)))
        cell.font = bold
        cell.fill = fill
        if column(str(name)) != name:
            cell.comment = Comment(f"CSV: {name}", "capacity")
    for row in frame.itertuples(index=False):
        ws.append([None if (isinstance(v, float) and v != v) else v for v in row])
    n = len(frame) + 1
    for j, name in enumerate(frame.columns, start=1):
        letter = get_column_letter(j)
        fmt = _number_format(str(name), frame[name])
        if fmt is not None:
            for cells in ws.iter_rows(min_row=2, max_row=n, min_col=j, max_col=j):
                cells[0].number_format = fmt
        width = max([len(str(column(str(name)))) * (2 if current() == "zh" else 1)]
                    + [len(str(v)) for v in frame[name].head(200)])
        ws.column_dimensions[letter].width = min(max(8, width + 2), 60)
        if name in GAP_COLUMNS and n > 1:
            ref = f"{letter}2:{letter}{n}"
            ws.conditional_formatting.add(ref, CellIsRule(  # type: ignore[no-untyped-call]
                operator="lessThan", formula=["-0.5"], fill=PatternFill("solid", fgColor=SHORT_FILL)))
            ws.conditional_formatting.add(ref, CellIsRule(  # type: ignore[no-untyped-call]
                operator="greaterThan", formula=["0.5"], fill=PatternFill("solid", fgColor=SURPLUS_FILL)))
    ws.freeze_panes = "A2"
    if n > 1:
        ws.auto_filter.ref = f"A1:{get_column_letter(len(frame.columns))}{n}"


def _readme(ws: Worksheet, results: Results, meta: dict[str, Any]) -> None:
    from openpyxl.styles import Alignment, Font

    from capacity.results.write import estimates

    d = results.district
    first = results.view()
    name = (d.name_zh or d.name) if current() == "zh" else d.name
    how = tr("rep.how_draws", n=first.draws, seed=first.seed) if first.draws else tr("deterministic")
    rows: list[list[Any]] = [
        [tr("rep.title", district=name)],
        [tr("rep.sub", version=capacity.__version__, first=int(first.years[0]), last=int(first.years[-1]), how=how,
            streets=len(d.area_codes), n=len(results.scenarios))],
        [],
        [tr("rep.scenarios")],
        *[[run.name, run.scenario.description or ""] for run in results.views()],
        [],
        [tr("rep.setting"), tr("rep.value")],
        ["capacity", capacity.__version__], ["seed", first.seed], ["draws", first.draws],
        ["years", f"{int(first.years[0])}-{int(first.years[-1])}"],
        [tr("rep.estimates", n=len(estimates(d)), names=", ".join(estimates(d)))],
        [tr("rep.attribution", text=d.attribution)],
        [],
        [tr("rep.provenance")],
        [tr("rep.file"), tr("rep.column"), tr("rep.kind"), tr("rep.source")],
    ]
    for _, src in d.sources.iterrows():
        est = str(src["estimate"]).lower() in ("yes", "true")
        method = str(src.get("method", "") or "").strip()
        rows.append([str(src["file"]), str(src["column"]), tr("rep.estimate") if est else tr("rep.published"),
                     str(src["source"]) + (f" \u2014 {method}" if method and method != "nan" else "")])
    rows += [[], ["SHA-256"]]
    rows += [[k, v] for k, v in sorted(meta.get("inputs_sha256", {}).items()) if isinstance(v, str)]
    for line in rows:
        ws.append(line)
    for k in (1, 4):
        ws.cell(row=k, column=1).font = Font(bold=True, size=13 if k == 1 else 11)
    ws.column_dimensions["A"].width = 28
    ws.column_dimensions["B"].width = 30
    ws.column_dimensions["C"].width = 12
    ws.column_dimensions["D"].width = 100
    for row in ws.iter_rows():
        for cell in row:
            cell.alignment = Alignment(wrap_text=cell.column == 4, vertical="top")


def workbook_bytes(results: Results, lang: str | None = None) -> bytes:
    """The workbook as bytes (see the module's docstring), in ``lang`` (default the district's)."""
    from openpyxl import Workbook

    from capacity.i18n import resolve, use

    files = results.files()
    meta = json.loads(files["meta.json"])
    with use(resolve(lang, results.district)):
        wb = Workbook()
        readme = wb.active
        assert readme is not None
        readme.title = "README"
        _readme(readme, results, meta)
        for name in TABLES:
            frame = pd.read_csv(io.BytesIO(files[f"{name}.csv"]), dtype={"area_code": str})
            _table_sheet(wb.create_sheet(name), _localise(frame, results))
        wb.properties.created = FIXED_TIME
        wb.properties.modified = FIXED_TIME
        wb.properties.creator = f"capacity {capacity.__version__}"
        buf = io.BytesIO()
        wb.save(buf)
    return _fixed_zip(buf.getvalue())


def _fixed_zip(data: bytes) -> bytes:
    """The same zip with every entry and the document's modification dated :data:`FIXED_TIME`."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=FIXED_TIME.timetuple()[:6])
            fixed.compress_type = zipfile.ZIP_DEFLATED
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":  # openpyxl stamps the time of saving
                body = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>" + FIXED_TIME.strftime("%Y-%m-%dT%H:%M:%SZ")
                              .encode(), body)
            dst.writestr(fixed, body)
    return out.getvalue()


def xlsx_writer(results: Results, lang: str | None = None) -> Callable[[Path], None]:
    """A writer for :func:`capacity.atomic.write_files`."""
    data = workbook_bytes(results, lang)

    def write(path: Path) -> None:
        path.write_bytes(data)

    return write


def write_xlsx(results: Results, path: str | Path, *, lang: str | None = None) -> Path:
    """Write the workbook atomically (:func:`capacity.atomic.write_files`); returns its path."""
    from capacity.atomic import write_files

    path = Path(path)
    write_files(path.parent, {path.name: xlsx_writer(results, lang)}, last=None, **results.input_paths())
    return path


__all__ = ["GAP_COLUMNS", "TABLES", "workbook_bytes", "write_xlsx", "xlsx_writer"]
