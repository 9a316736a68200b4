"""Reading the solution back: the plan as a table and as a scenario document.

:func:`plan_table` lists every action started (what, where, when, places, cost);
:func:`plan_document` rewrites the input scenario's TOML document so that ``capacity run``
evaluates the plan: projects' opening years (with no fixed delay), cancellations, and the
candidate actions as added project rows (a temporary class is a row opening its places and
a closure row when they end; a conversion a row closing the source stage's places and one
opening the new stage's).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from capacity.optimise.model import Inputs, Programme
from capacity.optimise.solve import Solution

__all__ = ["plan_document", "plan_table", "started"]

PLAN_COLUMNS = ["action_id", "kind", "what", "area_code", "area_name", "stage", "from_stage", "year", "units",
                "places", "until", "cost"]


def started(p: Programme, sol: Solution) -> list[tuple[int, int, int]]:
    """(action index, year, units) of every unit variable above zero, in variable order."""
    out = []
    for j, (i, y) in enumerate(p.units):
        units = int(round(float(sol.x[j])))
        if units > 0:
            out.append((i, y, units))
    return out


def plan_table(inp: Inputs, p: Programme, sol: Solution, area_names: dict[str, str]) -> pd.DataFrame:
    """The plan: one row per action, start year and stage (places per stage, cost split by places).

    Projects not started are listed as cancelled (year empty, units 0).
    """
    rows: list[dict[str, Any]] = []
    chosen = started(p, sol)
    opened = {i for i, _, _ in chosen}
    horizon = int(inp.years[-1])
    for i, y, units in chosen:
        act = inp.actions[i]
        gains = [(a, s, e) for a, s, e in act.effects if e > 0]
        losses = [(a, s, e) for a, s, e in act.effects if e < 0]
        total = sum(e for _, _, e in gains)
        for a, s, e in gains:
            if act.kind == "project":
                what = "open project" if y == act.planned_year else (
                    f"bring forward from {act.planned_year}" if y < (act.planned_year or y) else f"defer from {act.planned_year}")
            else:
                what = {"new_school": "new school", "conversion": "convert rooms",
                        "expansion": "add temporary classes" if act.duration else "add classes"}[act.kind]
            rows.append({"action_id": act.action_id, "kind": act.kind, "what": what, "area_code": inp.areas[a],
                         "area_name": area_names.get(inp.areas[a], ""), "stage": inp.stages[s],
                         "from_stage": inp.stages[losses[0][1]] if losses else "", "year": y, "units": units,
                         "places": e * units, "until": y + act.duration - 1 if act.duration else pd.NA,
                         "cost": act.cost * units * e / total})
    for i, act in enumerate(inp.actions):
        if act.kind == "project" and i not in opened:
            for a, s, _ in act.effects:
                rows.append({"action_id": act.action_id, "kind": act.kind, "what": f"cancel (planned {act.planned_year})",
                             "area_code": inp.areas[a], "area_name": area_names.get(inp.areas[a], ""),
                             "stage": inp.stages[s], "from_stage": "", "year": pd.NA, "units": 0,
                             "places": 0.0, "until": pd.NA, "cost": 0.0})
    table = pd.DataFrame(rows, columns=PLAN_COLUMNS)
    table["year"] = table["year"].astype("Int64")
    table["until"] = table["until"].astype("Int64").where(table["until"].isna() | (table["until"] <= horizon), horizon)
    return table.reset_index(drop=True)


def plan_document(doc: dict[str, Any], inp: Inputs, p: Programme, sol: Solution, name: str) -> dict[str, Any]:
    """The input scenario's document with the plan written into its ``[projects]`` table.

    Parameters
    ----------
    doc : dict
        The scenario's TOML document, ``extend`` resolved.
    inp, p, sol
        The programme's inputs, the programme and its solution.
    name : str
        The new scenario's name.

    Returns
    -------
    dict
        A document :func:`capacity.scenario.scenario_from_dict` accepts.
    """
    out = {k: v for k, v in doc.items() if k != "extend"}
    out["name"] = name
    out["description"] = f"The optimised plan of capacity optimise on {doc.get('name', 'the scenario')}"
    projects = dict(out.get("projects", {}))
    opening = dict(projects.get("opening_year", {}))
    delay = dict(projects.get("delay", {}))
    cancel = list(projects.get("cancel", []))
    add = list(projects.get("add", []))
    chosen = started(p, sol)
    opened = {i: y for i, y, _ in chosen}
    horizon = int(inp.years[-1])
    for i, act in enumerate(inp.actions):
        if act.kind != "project":
            continue
        if i in opened:
            opening[act.action_id] = int(opened[i])
            delay[act.action_id] = 0
        elif act.action_id not in cancel:
            cancel.append(act.action_id)
    for i, y, units in chosen:
        act = inp.actions[i]
        if act.kind == "project":
            continue
        pid = f"{act.action_id}-{y}"
        for a, s, e in act.effects:
            row = {"project_id": pid, "name_en": f"{act.kind} {act.action_id} ({units} units)", "stage": inp.stages[s],
                   "places": float(e * units), "area_code": inp.areas[a],
                   "kind": "new" if act.kind == "new_school" else act.kind if e > 0 else "conversion",
                   "opening_year": int(y), "opening_year_basis": "capacity optimise"}
            add.append(row)
            end = y + act.duration
            if act.duration and end <= horizon:
                add.append({**row, "project_id": f"{pid}-end", "places": -float(e * units), "kind": "closure",
                            "opening_year": int(end), "name_en": f"end of temporary {act.action_id}"})
    projects.update({"opening_year": opening, "delay": delay, "cancel": cancel, "add": add})
    out["projects"] = projects
    return out
