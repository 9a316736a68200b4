"""Selection rules on hand-made selection forecasts, the chosen forecast, no look-ahead; the both-sexes history."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from capacity.errors import InputError
from capacity.forecast.backtest import run_backtest, run_rules
from capacity.forecast.history import Table, read_history
from capacity.forecast.methods import parse_method, women_path
from capacity.forecast.selection import RULES, choose, chosen_rows, describe
from tests.test_backtest import SHARED, write_history

TOL = 1e-12
#: Selection MAPE by method and horizon (actual 100, so APE = |F - 100|); h = 1 has 3 forecasts, h = 2 one.
HAND = {
    "a": (1.0, 5.0),                # mean 3.0,  pooled (3 x 1.0 + 5.0) / 4 = 2.0
    "b": (2.0, 3.0),                # mean 2.5 (least), pooled 2.25
    "c": (1.5, 4.0),                # mean 2.75, pooled 2.125
    "e": (2.0, 3.0),                # the same forecasts as b: counts once in top3
    "shrunk:band3:5": (2.5, 2.58),  # mean 2.54: within 2 % of 2.5; pooled 2.52
    "ratio": (0.1, 0.1),            # naive: never a candidate
}


def _selection() -> pd.DataFrame:
    rows = []
    for method, (h1, h2) in HAND.items():
        for area in ("x", "y", "z"):
            rows.append((method, "s", area, 2010, 1, 100.0 + h1, 100.0))
        rows.append((method, "s", "x", 2010, 2, 100.0 - h2, 100.0))
    return pd.DataFrame(rows, columns=["method", "stage", "area_code", "origin", "horizon", "forecast", "actual"])


@pytest.mark.parametrize(("rule", "expected"), [
    ("stage", {1: ("b",), 2: ("b",)}),
    ("horizon", {1: ("a",), 2: ("shrunk:band3:5",)}),
    ("top3", {1: ("b", "shrunk:band3:5", "c"), 2: ("b", "shrunk:band3:5", "c")}),
    ("pooled", {1: ("a",), 2: ("a",)}),
    ("prefer-shrunk", {1: ("shrunk:band3:5",), 2: ("shrunk:band3:5",)}),
])
def test_rules_by_hand(rule: str, expected: dict[int, tuple[str, ...]]) -> None:
    assert choose(_selection(), rule, {"s": [1, 2]}) == {"s": expected}


def test_rule_edges() -> None:
    sel = _selection()
    # a horizon without selection forecasts takes the stage choice
    assert choose(sel, "horizon", {"s": [1, 2, 3]})["s"][3] == ("b",)
    # prefer-shrunk with no shrunk method within the tolerance: the stage choice
    far = sel.copy()
    shrunk = far["method"] == "shrunk:band3:5"
    far.loc[shrunk, "forecast"] = 100.0 + 2 * (far.loc[shrunk, "forecast"] - 100.0)  # its APEs doubled
    assert choose(far, "prefer-shrunk", {"s": [1]}) == {"s": {1: ("b",)}}
    with pytest.raises(InputError, match="--select-rule"):
        choose(sel, "best", {"s": [1]})
    assert describe({1: ("a",), 2: ("a",), 3: ("b", "c")}) == "h1-2: a; h3: mean(b, c)"
    assert describe({1: ("b", "shrunk:band3:5+c")}) == "mean(b, shrunk:band3:5+c)"


def test_chosen_rows_mean_of_members() -> None:
    fc = _selection().assign(size=50.0, large=True)
    fc = fc[fc["method"] != "c"]
    out = chosen_rows(fc, {"s": {1: ("a", "b"), 2: ("a",)}})
    h1 = out[out["horizon"] == 1].set_index("area_code")["forecast"]
    np.testing.assert_allclose(h1.to_numpy(), [(101.0 + 102.0) / 2] * 3, rtol=0, atol=TOL)
    assert list(out.loc[out["horizon"] == 2, "forecast"]) == [95.0]
    assert set(out["method"]) == {"chosen"}
    # a combination exists only where every member has a forecast
    partial = chosen_rows(fc[~((fc["method"] == "b") & (fc["area_code"] == "z"))], {"s": {1: ("a", "b")}})
    assert sorted(partial["area_code"]) == ["x", "y"]


@pytest.mark.parametrize("rule", RULES)
def test_choice_sees_only_outcomes_known_by_select_until(tmp_path: Path, rule: str) -> None:
    """Outcomes after the selection year changed wildly: every rule chooses the same."""
    methods = [parse_method(m) for m in ("last", "ratio", "progression:last:1", "progression:mean:3",
                                         "shrunk:band1:3", "combined:mean:3")]
    calm = read_history(write_history(tmp_path / "a", growth=1.02, jump={2004: 1.3, 2006: 0.9}))
    wild = read_history(write_history(tmp_path / "b", growth=1.02, jump={2004: 1.3, 2006: 0.9, 2010: 0.5, 2011: 2.0}))
    one = run_backtest(calm, methods, (2005, 2011), (1, 2), select_until=2008, rule=rule)
    two = run_backtest(wild, methods, (2005, 2011), (1, 2), select_until=2008, rule=rule)
    assert one.members == two.members and one.chosen == two.chosen and one.rule == rule
    chosen = one.forecasts[one.forecasts["method"] == "chosen"]
    assert len(chosen) and chosen["origin"].min() >= 2008


def test_chosen_intervals_from_own_past_errors(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    h = read_history(write_history(tmp_path / "h", jump={y: float(rng.uniform(0.9, 1.1)) for y in range(2000, 2013)}))
    methods = [parse_method(m) for m in ("last", "ratio", "progression:last:1", "progression:mean:3", "combined:mean:3")]
    # every origin scored, so the forecasts hold every past error the intervals are calibrated on
    res = run_rules(h, methods, (2001, 2011), (1, 2), ("stage", "top3"), select_until=2008)
    keys = ["area_code", "origin"]
    # one method chosen: its intervals are that method's
    single = res["stage"].forecasts
    method = res["stage"].members["lower"][1][0]
    mine = single[(single["method"] == "chosen") & (single["stage"] == "lower") & (single["horizon"] == 1)]
    theirs = single[(single["method"] == method) & (single["stage"] == "lower") & (single["horizon"] == 1)]
    both = mine.merge(theirs, on=keys, suffixes=("", "_m"))
    assert len(both) == len(mine) > 0 and both["upper_80"].notna().any()
    np.testing.assert_array_equal(both["upper_80"], both["upper_80_m"])
    # a combination: its interval from the |log errors| of the combined forecasts of earlier origins
    combo = res["top3"]
    members = combo.members["lower"][1]
    assert len(members) == 3
    fc = combo.forecasts
    rows = fc[(fc["method"] == "chosen") & (fc["stage"] == "lower") & (fc["horizon"] == 1) & fc["upper_80"].notna()]
    row = rows.sort_values(["origin", "area_code"]).iloc[0]
    every = fc[(fc["stage"] == "lower") & (fc["horizon"] == 1) & fc["method"].isin(members)]
    past = every[every["origin"] < row["origin"]].groupby(keys)[["forecast", "actual"]].mean()
    q = np.quantile(np.abs(np.log(past["actual"] / past["forecast"])), 0.8)
    assert abs(row["upper_80"] - row["forecast"] * np.exp(q)) < 1e-9 * row["forecast"]


def write_both(folder: Path) -> Path:
    """Two areas, ages 0..4 both sexes, women 15-49 apart."""
    folder.mkdir(parents=True, exist_ok=True)
    rows, women = [], []
    for a, code in enumerate(("A", "B")):
        for y in range(2000, 2006):
            w = 1000.0 * (a + 1) * 1.02 ** (y - 2000)
            women.append((code, y, w))
            for age in range(5):
                rows.append((code, y, "both", age, 0.05 * w * (1 - 0.01 * age)))
    pd.DataFrame(rows, columns=["area_code", "year", "sex", "age", "population"]).to_csv(folder / "population.csv", index=False)
    pd.DataFrame(women, columns=["area_code", "year", "women"]).to_csv(folder / "women.csv", index=False)
    pd.DataFrame({"area_code": ["A", "B"], "area_name": ["a", "b"], "border_change": [False, False],
                  "note": ["", ""]}).to_csv(folder / "areas.csv", index=False)
    (folder / "history.toml").write_text('name = "both"\nnaive_years = 3\n\n[[stages]]\nstage = "young"\n'
                                         'table = "population"\nfirst = 0\nlast = 2\n', encoding="utf-8")
    return folder


def test_population_by_both_sexes(tmp_path: Path) -> None:
    h = read_history(write_both(tmp_path / "h"))
    t = h.tables["population"]
    assert t.counts.shape == (6, 2, 1, 5) and t.women is not None and t.women.shape == (6, 2)
    assert t.women[2, 1] == pytest.approx(2000 * 1.02 ** 2)
    # age 0 = the child-woman ratio (0.05 every year) x the women moved by their mean annual change (1.02)
    got = parse_method("progression:mean:3").project(t, 5, 2)[:, :, 0, 0]
    expected = 0.05 * np.array([[1000.0, 2000.0]]) * 1.02 ** np.array([[6], [7]])
    np.testing.assert_allclose(got, expected, rtol=TOL)
    for spec in ("ratio", "shrunk:band1:3", "shrunk-last:pooled:3", "cohort-component:mean:3"):
        np.testing.assert_allclose(parse_method(spec).project(t, 5, 2)[:, :, 0, 0], expected, rtol=1e-9)
    assert not parse_method("hamilton-perry:last:1").applies(t)
    b = run_backtest(h, [parse_method(m) for m in ("last", "ratio", "progression:weighted:3")], (2003, 2004), (1, 1))
    assert b.scores.loc[b.scores["method"] == "ratio", "mape"].max() < 1e-9


def test_women_path_by_hand() -> None:
    w = np.array([[np.nan, 100.0, 0.0], [110.0, 110.0, 5.0], [121.0, np.nan, 7.0]])
    got = women_path(w, 2)
    np.testing.assert_allclose(got[:, 0], [121.0 * 1.1, 121.0 * 1.21], rtol=TOL)
    np.testing.assert_allclose(got[:, 1], [110.0 * 1.1, 110.0 * 1.21], rtol=TOL)
    np.testing.assert_allclose(got[:, 2], [7.0, 7.0], rtol=TOL)  # a zero in the window: held


def test_both_sexes_bad_input(tmp_path: Path) -> None:
    folder = write_both(tmp_path / "h")
    lines = (folder / "population.csv").read_text(encoding="utf-8").splitlines()
    lines[3] = lines[3].replace(",both,", ",female,")
    (folder / "population.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        read_history(folder)
    assert str(info.value).endswith("population.csv, row 4, column 'sex': expected 'both' as in row 2 (both sexes in "
                                    "every row, or female and male in every row), found 'female'")
    folder = write_both(tmp_path / "g")
    (folder / "women.csv").unlink()
    with pytest.raises(InputError, match="women.csv: expected women aged 15-49"):
        read_history(folder)


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared backtest data absent")
def test_norway_municipalities_converter(tmp_path: Path) -> None:
    from tools.history import norway_municipalities

    assert norway_municipalities.main([str(tmp_path / "m"), "--source", str(SHARED)]) == 0
    h = read_history(tmp_path / "m")
    t: Table = h.tables["population"]
    assert t.counts.shape == (22, 357, 1, 20) and t.women is not None
    flagged = set(h.areas.loc[h.areas["border_change"], "area_code"])
    assert flagged == {"0301", "1103", "4601", "5001", "1508", "1580", "1806", "1875", "5055", "5056", "5059"}
    # Vindafjord has no 2005 row: missing, not zero
    vindafjord = h.areas["area_code"].tolist().index("1160")
    assert np.isnan(t.counts[0, vindafjord]).all() and np.isfinite(t.counts[1, vindafjord]).all()
    # Oslo's children 0-19 and women 15-49 in 2005, summed from the source files
    kids = pd.read_csv(SHARED / "norway_municipality_children_0_19.csv", dtype={"area_code": str})
    women = pd.read_csv(SHARED / "norway_municipality_women_15_49.csv", dtype={"area_code": str})
    oslo = h.areas["area_code"].tolist().index("0301")
    assert t.counts[0, oslo].sum() == kids.loc[(kids["area_code"] == "0301") & (kids["year"] == 2005), "population"].sum()
    assert t.women[0, oslo] == women.loc[(women["area_code"] == "0301") & (women["year"] == 2005), "population"].sum()
