"""A history folder -> a district folder that carries it as its ``history/`` (to run a scenario's ``method`` on it).

``python -m tools.history.district HISTORY OUT --base-year YEAR``. Starts from the template
of ``capacity init`` (the embedded Haizhu district) and replaces what must match the
history: the areas (a grid of squares, not real boundaries: maps and travel distances are
only illustrative), the base population (the history's base year, ages above the open age
summed into it), places (each area's base-year children of each stage times the stage's
enrolment rate, all public: a place for every pupil in the base year), one project and
``sources.csv``. Net migration is set to zero and fertility and the life table stay
Haizhu's: the engine only projects the stages a scenario leaves to it, so with a method for
every stage they matter only for the population total. ``history/`` holds the history's
areas not flagged ``border_change``, its years up to the base year, and the district's
stages (so that ``capacity backtest OUT/history`` prints a ``[method]`` table to paste).
Writes outside the repository only (the shared data are never copied into it).
"""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd

from capacity.forecast.history import History, read_history
from capacity.io.district import load_district
from capacity.template import write_template
from tools.history.common import write_history

__all__ = ["convert", "main"]


def _csv(frame: pd.DataFrame) -> str:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, lineterminator="\n")
    return buffer.getvalue()


def _grid_areas(codes: list[str], names: list[str]) -> dict[str, object]:
    """Squares of 0.02 degrees on a grid near (10.0 E, 60.0 N), one per area, in the order given."""
    width = int(np.ceil(np.sqrt(len(codes))))
    features = []
    for i, (code, name) in enumerate(zip(codes, names, strict=True)):
        x0, y0 = 10.0 + 0.02 * (i % width), 60.0 + 0.02 * (i // width)
        ring = [[x0, y0], [x0 + 0.02, y0], [x0 + 0.02, y0 + 0.02], [x0, y0 + 0.02], [x0, y0]]
        features.append({"type": "Feature", "properties": {"area_code": code, "name_zh": name, "name_en": name},
                         "geometry": {"type": "Polygon", "coordinates": [ring]}})
    return {"type": "FeatureCollection", "features": features}


def convert(history_folder: Path, out: Path, base_year: int, name: str | None = None) -> Path:
    """Write the district folder ``out`` (see the module docstring) and return it, checked by :func:`load_district`."""
    history = read_history(history_folder)
    table = history.tables.get("population")
    if table is None:
        raise SystemExit(f"{history_folder}: expected a history with population.csv")
    if not int(table.years[0]) < base_year <= int(table.years[-1]):
        raise SystemExit(f"--base-year: expected a year in {int(table.years[0]) + 1}..{int(table.years[-1])}, found {base_year}")
    kept = history.areas[~history.areas["border_change"]].sort_values("area_code").reset_index(drop=True)
    codes = [str(c) for c in kept["area_code"]]
    write_template(out)
    for optional in ("plan.csv", "observed.csv", "candidates.csv"):
        (out / optional).unlink()
    settings = {"name": name or history.settings.name, "code": "999999", "base_year": base_year}
    toml = (out / "district.toml").read_text(encoding="utf-8").splitlines()
    lines = ["# Made by python -m tools.history.district from a history folder: areas and base population from it."]
    for line in toml:
        key = line.split("=", 1)[0].strip()
        if line.startswith("#") or key == "name_zh":
            continue
        if key in settings:
            line = f"{key} = {json.dumps(settings[key], ensure_ascii=False)}"
        elif key == "attribution":
            line = 'attribution = "Areas drawn as squares on a grid (not real boundaries)"'
        lines.append(line)
    (out / "district.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    names = [f"{n}" for n in kept["area_name"]]
    (out / "areas.geojson").write_text(json.dumps(_grid_areas(codes, names), ensure_ascii=False), encoding="utf-8")

    open_age = 100
    index = [table.areas.index(c) for c in codes]
    base = np.nan_to_num(table.counts[table.year_index(base_year)][index])  # (area, sex, age)
    ages = np.zeros(base.shape[:2] + (open_age + 1,))
    top = min(open_age, base.shape[2] - 1)
    ages[..., :top] = base[..., :top]
    ages[..., top] = base[..., top:].sum(axis=2)
    sexes = ("female", "male")
    rows = [(code, sexes[s], x) for code in codes for s in range(2) for x in range(open_age + 1)]
    pop = pd.DataFrame(rows, columns=["area_code", "sex", "age"])
    pop["population"] = ages.reshape(-1)
    (out / "population.csv").write_text(_csv(pop), encoding="utf-8")
    mig = pop.drop(columns="population").assign(net_migrants=0.0)
    (out / "migration.csv").write_text(_csv(mig), encoding="utf-8")

    stages = pd.read_csv(out / "stages.csv", dtype={"stage": str})
    places = []
    for _, st in stages.iterrows():
        first, last = int(st["first_age"]), int(st["last_age"])
        children = ages[..., first:last + 1].sum(axis=(1, 2))
        for code, c in zip(codes, children, strict=True):
            places += [(code, st["stage"], "public", int(round(c * float(st["enrolment_rate"])))), (code, st["stage"], "private", 0)]
    (out / "places.csv").write_text(_csv(pd.DataFrame(places, columns=["area_code", "stage", "sector", "places"])),
                                    encoding="utf-8")
    projects = pd.read_csv(out / "projects.csv", dtype=str, keep_default_na=False).iloc[:1].copy()
    projects.loc[0, ["project_id", "name_zh", "name_en", "stage", "places", "area_code", "kind", "ownership", "opening_year",
                     "opening_year_basis", "source", "location_basis", "location_confidence"]] = [
        "P1", "New primary school", "New primary school", "primary", "900", codes[0], "new", "public", str(base_year + 3),
        "assumed", "illustrative", "illustrative", "low"]
    (out / "projects.csv").write_text(_csv(projects), encoding="utf-8")
    sources = pd.DataFrame([
        ("district.toml", "*", "no", "tools.history.district", f"base year {base_year} of the history"),
        ("areas.geojson", "*", "yes", "tools.history.district", "squares on a grid, not real boundaries"),
        ("population.csv", "*", "no", f"history: {history.settings.name}", f"the history's {base_year} population; ages "
         f"{open_age} and over summed"),
        ("fertility.csv", "*", "yes", "capacity init template (Haizhu)", "not the history's area: used by the engine only"),
        ("life_table.csv", "*", "yes", "capacity init template (Haizhu)", "not the history's area: used by the engine only"),
        ("migration.csv", "*", "yes", "assumption", "zero net migration: used by the engine only"),
        ("stages.csv", "*", "yes", "capacity init template (Haizhu)", ""),
        ("places.csv", "*", "yes", "tools.history.district", "base-year children x enrolment rate, all public"),
        ("projects.csv", "*", "yes", "tools.history.district", "one illustrative project"),
    ], columns=["file", "column", "estimate", "source", "method"])
    (out / "sources.csv").write_text(_csv(sources), encoding="utf-8")
    (out / "README.md").write_text(f"# {settings['name']}: a district made from a history folder\n\n"
                                   "Made by `python -m tools.history.district`; see its docstring for what is real "
                                   "(the history and the base population) and what is illustrative (everything else).\n",
                                   encoding="utf-8")
    _write_history(history, out / "history", codes, base_year, stages)
    load_district(out)
    return out


def _write_history(history: History, out: Path, codes: list[str], base_year: int, stages: pd.DataFrame) -> None:
    """The history's kept areas and years up to the base year, with the district's stages."""
    table = history.tables["population"]
    index = [table.areas.index(c) for c in codes]
    years = table.years[table.years <= base_year]
    counts = table.counts[: len(years)][:, index]
    y, a, s, x = np.meshgrid(np.arange(len(years)), np.arange(len(codes)), np.arange(2), np.arange(counts.shape[3]),
                             indexing="ij")
    present = np.isfinite(counts)
    pop = pd.DataFrame({"area_code": np.array(codes)[a[present]], "year": years[y[present]],
                        "sex": np.array(["female", "male"])[s[present]], "age": x[present], "population": counts[present]})
    areas = history.areas.set_index("area_code").loc[codes].reset_index()
    settings: dict[str, object] = {"name": history.settings.name, "source": history.settings.source,
                                   "naive_years": history.settings.naive_years}
    spec = [{"stage": str(r["stage"]), "table": "population", "first": int(r["first_age"]), "last": int(r["last_age"])}
            for _, r in stages.iterrows()]
    write_history(out, settings, spec, {"areas": areas[["area_code", "area_name", "border_change", "note"]], "population": pop})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="history folder -> district folder with that history (outside the repository)")
    parser.add_argument("history", metavar="HISTORY", help="history folder (e.g. from python -m tools.history.norway)")
    parser.add_argument("out", metavar="OUT", help="district folder to write (new or empty)")
    parser.add_argument("--base-year", type=int, required=True, help="the district's base year (the history's last year used)")
    parser.add_argument("--name", default=None, help="the district's name (default: the history's)")
    args = parser.parse_args(argv)
    convert(Path(args.history), Path(args.out), args.base_year, args.name)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
