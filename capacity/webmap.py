"""An offline interactive web map: one self-contained HTML file (``capacity export --format html``).

Everything is inside the file: the streets as SVG paths (projected to the district's UTM
zone, simplified to about 15 m, scaled to a 1000-unit-wide view box), the figures as JSON,
and a small script written for it (no library, no CDN, no network). Controls: a year
slider, stage and scenario selectors. Streets are coloured by the gap (places - demand;
shortfall red, surplus blue) on a scale per stage and scenario, symmetric about zero over
all years (so colours compare across years), the tint growing with the square root of the
gap so small gaps still show; a tooltip gives the street's demand, places,
gap and, with draws, the probability of a shortfall; circles mark the stage's
construction projects (sized by places; filled once open in the year shown, hollow
before; tooltip: name, places, opening year). Texts are in the chosen language
(:mod:`capacity.i18n`); the page uses the reader's system fonts.

Elements a test can read: ``#year`` (the slider), ``#stage``, ``#scenario``, the street
paths ``path.street[data-area]`` with their ``fill`` and ``data-gap``, the circles
``circle.project[data-open]`` and ``#year-label``.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from capacity.i18n import area_label, current, resolve, stage_name, tr, use

if TYPE_CHECKING:  # pragma: no cover
    from capacity.results.result import Results

VIEW_W = 1000.0
SIMPLIFY_M = 15.0

_KEYS = ("demand", "places", "gap", "shortfall", "surplus", "scenario", "stage", "year",
         "map.later", "map.open", "gap_units", "data_note")


def _paths(results: Results) -> tuple[list[dict[str, Any]], float, dict[str, tuple[float, float]]]:
    """Street outlines as SVG path data, the view box height, and each street's centroid (view units)."""
    from capacity.plot.layers import projected_areas

    areas = projected_areas(results.district)
    minx, miny, maxx, maxy = areas.total_bounds
    scale = VIEW_W / (maxx - minx)
    height = (maxy - miny) * scale

    def xy(x: float, y: float) -> str:
        return f"{(x - minx) * scale:.1f},{(maxy - y) * scale:.1f}"

    out = []
    centres = {}
    for code, row in areas.iterrows():
        geom = row.geometry.simplify(SIMPLIFY_M, preserve_topology=True)
        parts = []
        for poly in (list(geom.geoms) if hasattr(geom, "geoms") else [geom]):
            for ring in [poly.exterior, *poly.interiors]:
                pts = [xy(x, y) for x, y in np.asarray(ring.coords)[:, :2]]
                parts.append("M" + "L".join(pts) + "Z")
        c = row["centroid"]
        centres[str(code)] = ((c.x - minx) * scale, (maxy - c.y) * scale)
        out.append({"code": str(code), "name": area_label(str(row["name_zh"]), str(row["name_en"]), str(code)),
                    "d": "".join(parts)})
    return out, height, centres


def payload(results: Results, year: int | None = None) -> dict[str, Any]:
    """Everything the page shows, as one JSON-able dict (in the language in force)."""
    streets, height, centres = _paths(results)
    first = results.view()
    d = results.district
    codes = [s["code"] for s in streets]
    years = [int(y) for y in first.years]
    g = results.gap
    g = g[g["area_code"].isin(codes)]
    has_p = "p_shortfall" in g
    data: dict[str, dict[str, list[list[list[float | None]]]]] = {}
    for scen in results.scenarios:
        data[scen] = {}
        for stage in d.stage_names:
            sel = g[(g["scenario"] == scen) & (g["stage"] == stage)].set_index(["year", "area_code"])
            cube: list[list[list[float | None]]] = []
            for y in years:
                rows: list[list[float | None]] = []
                for c in codes:
                    r = sel.loc[(y, c)]
                    vals: list[float | None] = [round(float(r[k]), 3) for k in ("demand", "places", "gap")]
                    vals.append(round(float(r["p_shortfall"]), 3) if has_p else None)
                    rows.append(vals)
                cube.append(rows)
            data[scen][stage] = cube
    projects: dict[str, list[dict[str, Any]]] = {}
    for run in results.views():
        frame = run.projects()
        frame = frame[frame["places"] > 0]
        items = []
        for k, (_, p) in enumerate(frame.iterrows()):
            cx, cy = centres.get(str(p["area_code"]), (np.nan, np.nan))
            if not np.isfinite(cx):
                continue
            angle = 2.4 * k  # spread a street's projects around its centre (golden angle, deterministic)
            items.append({"id": str(p["project_id"]), "stage": str(p["stage"]),
                          "name": area_label(str(p.get("name_zh", "") or ""), str(p["name_en"])),
                          "places": float(p["places"]), "opening": int(round(float(p["opening"]))),
                          "x": round(cx + 14 * np.cos(angle), 1), "y": round(cy + 14 * np.sin(angle), 1)})
        projects[run.name] = items
    start = int(year) if year is not None and int(year) in years else first.target_year()
    title = tr("rep.title", district=(d.name_zh or d.name) if current() == "zh" else d.name)
    return {
        "title": title, "lang": current(), "years": years, "start": start, "height": round(height, 1),
        "scenarios": list(results.scenarios), "draws": first.draws,
        "stages": [{"key": s, "label": stage_name(first.stage_label(s), s)} for s in d.stage_names],
        "streets": streets, "data": data, "projects": projects,
        "text": {k: tr(k) for k in _KEYS}, "attribution": d.attribution,
    }


SCRIPT = r"""
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("data").textContent);
  var T = D.text, svgNS = "http://www.w3.org/2000/svg";
  var svg = document.getElementById("map"), tip = document.getElementById("tip");
  var year = document.getElementById("year"), stage = document.getElementById("stage"),
      scen = document.getElementById("scenario"), label = document.getElementById("year-label");
  var fmt = function (v) { return v === null ? "" : Math.round(v).toLocaleString("en-US"); };
  var pct = function (v) { return v === null ? "" : Math.round(100 * v) + "%"; };
  function opt(sel, value, text) { var o = document.createElement("option"); o.value = value;
    o.textContent = text; sel.appendChild(o); }
  D.stages.forEach(function (s) { opt(stage, s.key, s.label); });
  D.scenarios.forEach(function (s) { opt(scen, s, s); });
  if (D.stages.length > 1) stage.value = D.stages[1].key;
  year.min = D.years[0]; year.max = D.years[D.years.length - 1]; year.value = D.start;
  svg.setAttribute("viewBox", "0 0 1000 " + D.height);
  var paths = D.streets.map(function (s, i) {
    var p = document.createElementNS(svgNS, "path");
    p.setAttribute("d", s.d); p.setAttribute("class", "street"); p.setAttribute("data-area", s.code);
    p.addEventListener("mousemove", function (e) { show(e, streetTip(i)); });
    p.addEventListener("mouseleave", hide);
    svg.appendChild(p); return p;
  });
  var layer = document.createElementNS(svgNS, "g"); svg.appendChild(layer);
  // diverging colour: red (shortfall) - white - blue (surplus), t in [-1, 1]; square root so small gaps show
  function colour(t) {
    t = Math.max(-1, Math.min(1, t));
    var a = t < 0 ? [178, 24, 43] : [33, 102, 172], w = [247, 247, 247], k = Math.sqrt(Math.abs(t));
    return "rgb(" + [0, 1, 2].map(function (j) { return Math.round(w[j] + (a[j] - w[j]) * k); }).join(",") + ")";
  }
  function cube() { return D.data[scen.value][stage.value]; }
  function limit() { var m = 1; cube().forEach(function (rows) { rows.forEach(function (r) {
    m = Math.max(m, Math.abs(r[2])); }); }); return m; }
  function yi() { return D.years.indexOf(parseInt(year.value, 10)); }
  function streetTip(i) {
    var r = cube()[yi()][i], s = D.streets[i];
    var lines = ["<b>" + s.name + "</b> " + year.value, T.demand + ": " + fmt(r[0]), T.places + ": " + fmt(r[1]),
                 T.gap + ": " + (r[2] > 0 ? "+" : "") + fmt(r[2])];
    if (r[3] !== null) lines.push("P(" + T.shortfall + "): " + pct(r[3]));
    return lines.join("<br>");
  }
  function show(e, htmlText) { tip.innerHTML = htmlText; tip.style.display = "block";
    tip.style.left = (e.clientX + 12) + "px"; tip.style.top = (e.clientY + 12) + "px"; }
  function hide() { tip.style.display = "none"; }
  function draw() {
    var rows = cube()[yi()], m = limit();
    paths.forEach(function (p, i) { p.setAttribute("fill", colour(rows[i][2] / m));
      p.setAttribute("data-gap", Math.round(rows[i][2])); });
    label.textContent = year.value;
    document.getElementById("scale-lo").textContent = "-" + fmt(m);
    document.getElementById("scale-hi").textContent = "+" + fmt(m);
    while (layer.firstChild) layer.removeChild(layer.firstChild);
    (D.projects[scen.value] || []).forEach(function (pr) {
      if (pr.stage !== stage.value) return;
      var open = pr.opening <= parseInt(year.value, 10), c = document.createElementNS(svgNS, "circle");
      c.setAttribute("cx", pr.x); c.setAttribute("cy", pr.y); c.setAttribute("r", 3 + Math.sqrt(pr.places) / 4);
      c.setAttribute("class", "project" + (open ? " open" : "")); c.setAttribute("data-open", open ? "1" : "0");
      c.addEventListener("mousemove", function (e) { show(e, "<b>" + pr.id + " " + pr.name + "</b><br>" +
        fmt(pr.places) + " " + T.places + ", " + pr.opening + " (" + (open ? T["map.open"] : T["map.later"]) + ")"); });
      c.addEventListener("mouseleave", hide);
      layer.appendChild(c);
    });
  }
  [year, stage, scen].forEach(function (el) { el.addEventListener("input", draw); el.addEventListener("change", draw); });
  draw();
})();
"""

STYLE = """
body { font-family: "Microsoft YaHei", "PingFang SC", "Noto Sans CJK SC", "WenQuanYi Micro Hei", "Helvetica Neue",
       Arial, sans-serif; margin: 16px; color: #222; }
h1 { font-size: 20px; margin: 0 0 8px; }
#controls { display: flex; gap: 18px; align-items: center; flex-wrap: wrap; margin-bottom: 8px; font-size: 14px; }
#year { width: 260px; }
#year-label { font-weight: bold; min-width: 3em; display: inline-block; }
#map { width: 100%; max-width: 1100px; height: auto; background: #fff; }
path.street { stroke: #4d4d4d; stroke-width: 0.8; }
path.street:hover { stroke: #000; stroke-width: 2; }
circle.project { fill: #fff; stroke: #222; stroke-width: 1.5; }
circle.project.open { fill: #222; stroke: #fff; }
#tip { position: fixed; display: none; background: rgba(255,255,255,0.95); border: 1px solid #999;
       padding: 6px 8px; font-size: 13px; pointer-events: none; line-height: 1.4; }
#legend { font-size: 12px; display: flex; align-items: center; gap: 6px; margin: 4px 0; }
#bar { width: 200px; height: 10px; background: linear-gradient(to right, #b2182b, #f7f7f7, #2166ac); }
footer { font-size: 11px; color: #555; margin-top: 8px; }
"""


def html_text(results: Results, lang: str | None = None, *, year: int | None = None) -> str:
    """The page as text (see the module's docstring)."""
    with use(resolve(lang, results.district)):
        data = payload(results, year)
        esc = html.escape
        page = f"""<!DOCTYPE html>
<html lang="{'zh-CN' if data['lang'] == 'zh' else 'en'}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(data['title'])}</title>
<style>{STYLE}</style>
</head>
<body>
<h1>{esc(data['title'])}</h1>
<div id="controls">
<label>{esc(tr('scenario'))} <select id="scenario"></select></label>
<label>{esc(tr('stage'))} <select id="stage"></select></label>
<label>{esc(tr('year'))} <input type="range" id="year" step="1"> <span id="year-label"></span></label>
</div>
<div id="legend"><span>{esc(tr('shortfall'))}</span><span id="scale-lo"></span><div id="bar"></div>
<span id="scale-hi"></span><span>{esc(tr('surplus'))}</span><span>&nbsp;({esc(tr('gap_units'))})</span></div>
<svg id="map" xmlns="http://www.w3.org/2000/svg" role="img"></svg>
<div id="tip"></div>
<footer>{esc(data['attribution'])}<br>{esc(tr('data_note'))}</footer>
<script id="data" type="application/json">{_json(data)}</script>
<script>{SCRIPT}</script>
</body>
</html>
"""
    return page


def _json(data: dict[str, Any]) -> str:
    """JSON safe inside a <script> element."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.replace("</", "<\\/")


def html_writer(results: Results, lang: str | None = None, *, year: int | None = None) -> Callable[[Path], None]:
    """A writer for :func:`capacity.atomic.write_files`."""
    text = html_text(results, lang, year=year)

    def write(path: Path) -> None:
        path.write_text(text, encoding="utf-8")

    return write


__all__ = ["html_text", "html_writer", "payload"]
