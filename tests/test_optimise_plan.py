"""Reading the solution back: the plan table, the scenario document and its TOML text."""

from __future__ import annotations

import tomllib

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from capacity.optimise.model import Action, Inputs, build
from capacity.optimise.plan import plan_document, plan_table
from capacity.optimise.solve import solve
from capacity.optimise.toml_text import dumps
from capacity.scenario import scenario_from_dict

_keys = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=8)
_scalars = (st.booleans() | st.integers(-10**9, 10**9) | st.floats(allow_nan=False, allow_infinity=False)
            | st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=10))
_values = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_keys, inner, max_size=3),
                       max_leaves=8)


@settings(max_examples=30, deadline=None)
@given(st.dictionaries(_keys, _values | st.dictionaries(_keys, _values | st.lists(st.dictionaries(_keys, _scalars, min_size=1), min_size=1, max_size=2), max_size=3), max_size=4))
def test_toml_text_reads_back_to_the_same_document(doc: dict) -> None:
    assert tomllib.loads(dumps(doc, header="a\nb")) == doc


def _tiny() -> Inputs:
    demand = np.zeros((3, 2, 2, 1))
    demand[:, 0, 0, 0] = [100.0, 160.0, 160.0]
    demand[:, 1, 1, 0] = [50.0, 50.0, 90.0]
    base = np.zeros((3, 2, 2))
    base[:, 0, 0] = 100.0
    base[:, 1, 1] = 50.0
    base[:, 1, 0] = 60.0
    actions = (
        Action("P1", "project", ((0, 0, 60.0),), (2021, 2022, 2023), cost=50.0, planned_year=2023),
        Action("K9", "project", ((1, 0, 30.0),), (2022, 2023), cost=40.0, planned_year=2022),
        Action("T", "expansion", ((1, 1, 40.0),), (2022, 2023), cost=5.0, max_units=1, duration=1),
    )
    return Inputs(years=np.array([2021, 2022, 2023]), demand=demand, base=base, actions=actions,
                  shortfall_penalty=1.0, idle_cost=0.01, areas=("A", "B"), stages=("primary", "junior"))


def test_plan_table_and_document() -> None:
    inp = _tiny()
    p = build(inp)
    sol = solve(p, mip_gap=0.0)
    plan = plan_table(inp, p, sol, {"A": "Alpha", "B": "Beta"})
    rows = {r["action_id"]: r for r in plan.to_dict("records")}
    assert rows["P1"]["year"] == 2022 and rows["P1"]["what"] == "bring forward from 2023"
    assert rows["K9"]["units"] == 0 and rows["K9"]["what"].startswith("cancel")
    assert rows["T"]["year"] == 2023 and rows["T"]["until"] == 2023 and rows["T"]["places"] == 40.0
    doc = plan_document({"name": "base", "projects": {"delay": {"*": 1}}}, inp, p, sol, "base_optimised")
    back = tomllib.loads(dumps(doc))
    assert back["projects"]["opening_year"] == {"P1": 2022}
    assert back["projects"]["delay"] == {"*": 1, "P1": 0}
    assert back["projects"]["cancel"] == ["K9"]
    assert [r["project_id"] for r in back["projects"]["add"]] == ["T-2023"]  # lasts to the horizon: no closure row
    scenario = scenario_from_dict(back, file="optimised.toml")
    assert scenario.name == "base_optimised" and scenario.projects.cancel == ("K9",)
