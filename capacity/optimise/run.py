"""``capacity.optimise``: run a scenario, optimise its plan, evaluate both on fresh draws.

1. the scenario is run with ``draws`` draws of ``seed`` (the fitted draws);
2. the programme (``docs/optimise.md``) is built from the labelled result and the
   candidate actions, and solved with HiGHS;
3. the plan is written back as a scenario document; the scenario as written (the
   appendix) and the optimised scenario are both run by :func:`capacity.run` on fresh
   draws (``eval_seed``, default ``seed + 1``), and compared.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from capacity import __version__
from capacity.errors import InputError
from capacity.io.district import District, load_district
from capacity.optimise.candidates import COLUMNS, read_candidates
from capacity.optimise.inputs import first_year, make_inputs, requirement_year
from capacity.optimise.model import Inputs, build
from capacity.optimise.plan import plan_document, plan_table
from capacity.optimise.solve import Solution, solve
from capacity.optimise.toml_text import dumps
from capacity.scenario import Scenario, resolve_scenario, scenario_from_dict
from capacity.scenario_file import OptimiseTable, validate_document

__all__ = ["Optimisation", "optimise"]

#: A street is short in a draw when demand exceeds places by more than this (places).
TOLERANCE = 0.5


@dataclass
class Optimisation:
    """The optimised plan, its solution report and its comparison with the scenario as written."""

    plan: pd.DataFrame
    solution: Solution
    comparison: pd.DataFrame
    p_shortfall: pd.DataFrame
    scenario_toml: str
    meta: dict[str, Any] = field(default_factory=dict)
    #: the district folder and scenario file read (kept apart from the outputs)
    input_folders: list[Path] = field(default_factory=list)
    input_files: list[Path] = field(default_factory=list)

    def files(self) -> dict[str, bytes]:
        """Every output file's bytes (``meta.json`` last)."""
        def csv(frame: pd.DataFrame) -> bytes:
            return frame.to_csv(index=False, float_format="%.6g", lineterminator="\n").encode("utf-8")

        files = {"plan.csv": csv(self.plan), "comparison.csv": csv(self.comparison),
                 "p_shortfall.csv": csv(self.p_shortfall),
                 "solution.csv": csv(pd.DataFrame([self.solution.as_row()])),
                 "optimised.toml": self.scenario_toml.encode("utf-8")}
        record = dict(self.meta)
        record["outputs_sha256"] = {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}
        files["meta.json"] = (json.dumps(record, indent=2, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")
        return files

    def write(self, out_dir: str | Path, *, district: District | None = None, dpi: int = 150) -> Path:
        """Write the files into ``out_dir`` through :func:`capacity.atomic.write_files` (``meta.json`` last).

        With ``district``, also ``actions_map.png``, the map of the recommended actions
        (:func:`capacity.optimise.figure.actions_map`).
        """
        from capacity.atomic import Content, write_files

        files: dict[str, Content] = dict(self.files())
        if district is not None:
            files = {"actions_map.png": self._map_writer(district, dpi), **files}
        return write_files(out_dir, files, input_folders=self.input_folders, input_files=self.input_files)

    def _map_writer(self, district: District, dpi: int) -> Callable[[Path], None]:
        from capacity.optimise.figure import actions_map

        planned = {str(k): int(v) for k, v in self.meta.get("planned_opening_year", {}).items()}
        title = f"{self.meta.get('scenario', '')}, {self.meta.get('draws', 0)} draws, seed {self.meta.get('seed', 0)}"

        def draw(path: Path) -> None:
            fig = actions_map(district, self.plan, planned, title=title, dpi=dpi)
            fig.savefig(path, format="png", dpi=dpi, metadata={"Software": None})

        return draw


def _document(scenario: Scenario | str | Path) -> tuple[dict[str, Any], str]:
    """The scenario's TOML document (``extend`` resolved) and the file to name in messages."""
    from capacity.scenario import _read_toml

    if isinstance(scenario, Scenario):
        if not scenario.source:
            raise InputError.one("<scenario>", "", "", "expected a scenario file (the plan is written as its TOML), "
                                 "found a scenario built in code")
        scenario = scenario.source
    path = resolve_scenario(scenario)
    return _read_toml(path.resolve(), str(path)), str(path)


def _candidates(settings: OptimiseTable, district: District, file: str) -> pd.DataFrame:
    if settings.candidates is not None:
        path = Path(settings.candidates)
        if not path.is_absolute():
            path = Path(file).parent / path
        return read_candidates(path, district.area_codes, district.stage_names, shown=str(path))
    default = district.path / "candidates.csv"
    if district.files and default.is_file():  # a district read from a folder (not built in code)
        return read_candidates(default, district.area_codes, district.stage_names, shown="candidates.csv")
    return pd.DataFrame(columns=COLUMNS)


def evaluate(ds: xr.Dataset, first: int, required_from: int) -> pd.DataFrame:
    """Place-years short and idle (means over draws) and P(shortfall) per scenario of a result."""
    rows = []
    for name in ds["scenario"].to_numpy():
        sc = ds.sel(scenario=name)
        sc = sc.sel(year=sc["year"] >= first)
        short = sc["shortfall_after_transport"] if "shortfall_after_transport" in sc and bool(
            np.isfinite(sc["shortfall_after_transport"]).all()) else sc["shortfall"]
        late = short.sel(year=short["year"] >= required_from)
        any_short = (late > TOLERANCE).any(dim=("year", "area", "stage"))
        rows.append({"scenario": str(name), "place_years_short": float(short.sum(("year", "area", "stage")).mean()),
                     "place_years_idle": float(sc["surplus"].sum(("year", "area", "stage")).mean()),
                     "p_shortfall": float(any_short.mean())})
    return pd.DataFrame(rows)


def street_p_shortfall(ds: xr.Dataset, required_from: int, labels: dict[str, str]) -> pd.DataFrame:
    """Per street and stage, the largest yearly share of draws with a shortfall, for each scenario."""
    out = []
    for name in ds["scenario"].to_numpy():
        short = ds["shortfall"].sel(scenario=name)
        short = short.sel(year=short["year"] >= required_from)
        p = (short > TOLERANCE).mean("draw").max("year")
        frame = p.to_dataframe(name="p").reset_index()[["area", "stage", "p"]]
        out.append(frame.rename(columns={"p": labels[str(name)]}).set_index(["area", "stage"]))
    table = pd.concat(out, axis=1).reset_index().rename(columns={"area": "area_code"})
    return table


def optimise(scenario: Scenario | str | Path | None = None, district: District | str | Path | None = None, *,
             draws: int = 0, seed: int = 0, eval_seed: int | None = None, evaluate_plan: bool = True) -> Optimisation:
    """Optimise what to build, where and when (``docs/optimise.md``).

    Parameters
    ----------
    scenario : Scenario (loaded from a file), path or shipped name
        Default ``baseline``; its ``[optimise]`` table holds the settings.
    district : District or path, optional
        Default: the embedded Haizhu district.
    draws, seed : int
        The draws the plan is fitted on (0: the deterministic run).
    eval_seed : int, optional
        Seed of the fresh draws the plan is evaluated on (default ``seed + 1``).
    evaluate_plan : bool
        Run the scenario as written and the optimised scenario on fresh draws.

    Returns
    -------
    Optimisation
    """
    import capacity.api as api
    from capacity.inputs import area_distances_km

    doc, file = _document(scenario if scenario is not None else api.default_scenario_path())
    settings = validate_document(doc, file).optimise
    if not isinstance(district, District):
        district = load_district(district)
    base = scenario_from_dict(doc, file=file, default_name=Path(file).stem)
    fitted = api.run([base], district, draws=draws, seed=seed)
    ds = fitted.to_xarray()
    limit = settings.travel_limit_km if settings.travel_limit_km is not None else base.travel_limit_km
    distances = area_distances_km(district) if limit is not None else None
    inputs = make_inputs(ds, district, settings, _candidates(settings, district, file), distances, limit)
    programme = build(inputs)
    solution = solve(programme, mip_gap=settings.mip_gap, time_limit=settings.time_limit_s, file=file)
    names = dict(zip(ds["area"].to_numpy().astype(str), ds["area_name_en"].to_numpy().astype(str)))
    plan = plan_table(inputs, programme, solution, names)
    new_name = f"{base.name}_optimised"
    new_doc = plan_document(doc, inputs, programme, solution, new_name)
    text = dumps(new_doc, header=f"Written by capacity optimise from {Path(file).name} "
                 f"({draws} draws, seed {seed}); run it with capacity run.")
    t0 = first_year(settings, district.base_year)
    req = requirement_year(settings, district.base_year)
    comparison = pd.DataFrame()
    p_short = pd.DataFrame()
    if evaluate_plan:
        optimised = scenario_from_dict(tomllib.loads(text), file="optimised.toml", default_name=new_name)
        fresh_seed = seed + 1 if eval_seed is None else eval_seed
        fresh = api.run([base, optimised], district, draws=draws, seed=fresh_seed)
        fds = fresh.to_xarray()
        comparison = evaluate(fds, t0, req)
        comparison.insert(0, "plan", ["as written", "optimised"])
        comparison.insert(2, "cost", [_written_cost(inputs), float(plan["cost"].sum())])
        p_short = street_p_shortfall(fds, req, {base.name: "p_shortfall_as_written", new_name: "p_shortfall_optimised"})
        p_short.insert(1, "area_name", p_short["area_code"].map(names))
    meta = {"command": "capacity optimise", "capacity_version": __version__, "scenario": Path(file).name,
            "inputs_sha256": district.input_hashes(),
            "scenario_file_sha256": hashlib.sha256(Path(file).read_bytes()).hexdigest() if Path(file).is_file() else None,
            "draws": draws, "seed": seed,
            "eval_seed": seed + 1 if eval_seed is None else eval_seed, "settings": settings.model_dump(),
            "first_year": t0, "requirement_from_year": req,
            "planned_opening_year": {a.action_id: a.planned_year for a in inputs.actions if a.kind == "project"}}
    return Optimisation(plan=plan, solution=solution, comparison=comparison, p_shortfall=p_short,
                        scenario_toml=text, meta=meta, input_folders=[district.path],
                        input_files=[Path(file)] if Path(file).is_file() else [])


def _written_cost(inputs: Inputs) -> float:
    """Capital cost of the scenario's projects as written (every decided project at its planned year)."""
    return float(sum(a.cost for a in inputs.actions if a.kind == "project"))
