"""History format, converters and ``capacity backtest``: synthetic histories and the shared sets."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from capacity.cli import main
from capacity.errors import InputError
from capacity.forecast.backtest import run_backtest
from capacity.forecast.history import read_history
from capacity.forecast.methods import parse_method

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "backtest"
YEARS = range(2000, 2013)


def write_history(folder: Path, growth: float = 1.0, jump: dict[int, float] | None = None) -> Path:
    """Three areas (one with a border change), grades 0..5, entry from births 1 year before."""
    folder.mkdir(parents=True, exist_ok=True)
    rows, births = [], []
    for a, code in enumerate(("A", "B", "C")):
        size = 100.0 * (a + 1)
        for y in YEARS:
            factor = growth ** (y - 2000) * (jump or {}).get(y, 1.0)
            births.append((code, y, 2 * size * factor))
            for g in range(6):
                rows.append((code, y, g, size * factor * (1 - 0.01 * g)))
    pd.DataFrame(rows, columns=["area_code", "year", "level", "pupils"]).to_csv(folder / "enrolment.csv", index=False)
    pd.DataFrame(births, columns=["area_code", "year", "births"]).to_csv(folder / "births.csv", index=False)
    pd.DataFrame({"area_code": ["A", "B", "C"], "area_name": ["a", "b", "c"], "border_change": [False, False, True],
                  "note": ["", "", "merged"]}).to_csv(folder / "areas.csv", index=False)
    (folder / "history.toml").write_text(
        'name = "synthetic"\nentry_lag = 1\nnaive_years = 3\n\n'
        '[[stages]]\nstage = "lower"\ntable = "enrolment"\nfirst = 0\nlast = 2\n\n'
        '[[stages]]\nstage = "upper"\ntable = "enrolment"\nfirst = 3\nlast = 5\n', encoding="utf-8")
    return folder


def test_read_history_arrays(tmp_path: Path) -> None:
    h = read_history(write_history(tmp_path / "h"))
    t = h.tables["enrolment"]
    assert t.counts.shape == (13, 3, 1, 6) and t.births is not None
    assert t.counts[0, 1, 0, 2] == pytest.approx(200 * 0.98)
    assert t.births[3, 2] == pytest.approx(600)


def test_bad_history_one_line(tmp_path: Path) -> None:
    folder = write_history(tmp_path / "h")
    frame = pd.read_csv(folder / "enrolment.csv")
    frame.loc[4, "pupils"] = -3
    frame.to_csv(folder / "enrolment.csv", index=False)
    with pytest.raises(InputError) as info:
        read_history(folder)
    assert str(info.value).startswith("enrolment.csv, row 6, column 'pupils': expected") and "\n" not in str(info.value)
    (folder / "history.toml").write_text('name = "x"\nstages = []\nfoo = 1\n', encoding="utf-8")
    with pytest.raises(InputError, match="key foo"):
        read_history(folder)


def test_exact_growth_is_forecast_exactly(tmp_path: Path) -> None:
    h = read_history(write_history(tmp_path / "h", growth=1.03))
    b = run_backtest(h, [parse_method(m) for m in ("last", "ratio", "progression:median:3")], (2005, 2011), (1, 3))
    all_ = b.scores[b.scores["period"] == "all"]
    ratio = all_[all_["method"] == "ratio"]
    # exact wherever the cohorts are known at the origin (births after it are held)
    assert ratio.loc[(ratio["stage"] == "upper") | (ratio["horizon"] == 1), "mape"].max() < 1e-9
    assert ratio.loc[(ratio["stage"] == "lower") & (ratio["horizon"] == 2), "mape"].min() > 0.9
    assert all_.loc[all_["method"] == "last", "mape"].min() > 2.9
    assert b.messages == ["excluded (border change flagged): C c"]
    assert set(b.forecasts["area_code"]) == {"A", "B"}
    assert set(b.chosen.values()) == {"progression:median:3"}


def test_choice_uses_only_outcomes_known_by_select_until(tmp_path: Path) -> None:
    methods = [parse_method(m) for m in ("progression:last:1", "progression:mean:3")]
    calm = read_history(write_history(tmp_path / "a", growth=1.02, jump={2004: 1.3}))
    wild = read_history(write_history(tmp_path / "b", growth=1.02, jump={2004: 1.3, 2010: 0.5, 2011: 2.0}))
    one = run_backtest(calm, methods, (2005, 2011), (1, 2), select_until=2008)
    two = run_backtest(wild, methods, (2005, 2011), (1, 2), select_until=2008)
    assert one.chosen == two.chosen
    sel = one.scores[one.scores["period"] == "selection"]
    assert (sel["n"] > 0).all()
    test = one.forecasts[one.forecasts["origin"] >= 2008]
    assert len(test) and one.select_until == 2008


def test_excluded_areas_stay_out_of_pooled_fits(tmp_path: Path) -> None:
    """Area C (border change) is left out of the fit: its counts cannot move A's and B's shrunk forecasts."""
    methods = [parse_method(m) for m in ("last", "shrunk:band1:3", "shrunk-trend:pooled:3")]
    one = run_backtest(read_history(write_history(tmp_path / "a", growth=1.02, jump={2006: 1.1})), methods, (2005, 2011), (1, 2))
    folder = write_history(tmp_path / "b", growth=1.02, jump={2006: 1.1})
    frame = pd.read_csv(folder / "enrolment.csv")
    frame.loc[frame["area_code"] == "C", "pupils"] *= np.linspace(0.5, 3.0, int((frame["area_code"] == "C").sum()))
    frame.to_csv(folder / "enrolment.csv", index=False)
    two = run_backtest(read_history(folder), methods, (2005, 2011), (1, 2))
    pd.testing.assert_series_equal(one.forecasts["forecast"], two.forecasts["forecast"])
    assert set(one.forecasts["area_code"]) == {"A", "B"}


def test_cli_writes_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = write_history(tmp_path / "h", growth=1.01, jump={2006: 1.1, 2009: 0.95})
    out = tmp_path / "out"
    code = main(["backtest", str(folder), "--origins", "2004:2011", "--horizons", "1:3",
                 "--methods", "last,ratio,progression:weighted:3", "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "excluded (border change flagged): C c" in printed and "lower:" in printed
    scores = pd.read_csv(out / "scores.csv")
    assert {"set", "method", "stage", "horizon", "mape", "median_ape", "mean_signed_error", "inside_80",
            "inside_95", "n"} <= set(scores.columns)
    assert (out / "error_by_horizon.png").stat().st_size > 1000
    meta = json.loads((out / "meta.json").read_text())
    assert meta["chosen"].keys() == {"lower", "upper"}
    assert main(["backtest", str(folder), "--methods", "mode", "--out", str(out)]) == 2
    assert main(["backtest", str(tmp_path / "none"), "--out", str(out)]) == 2


def test_intervals_from_past_errors_only(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    jumps = {y: float(rng.uniform(0.9, 1.1)) for y in YEARS}
    h = read_history(write_history(tmp_path / "h", jump=jumps))
    b = run_backtest(h, [parse_method("last")], (2001, 2011), (1, 2))
    fc = b.forecasts
    first = fc.loc[fc["lower_80"].notna(), "origin"].min()
    # 2 areas x 2 stages = 4 errors per origin and horizon: 20 errors need 5 earlier origins
    assert first >= 2006
    has = fc["lower_95"].notna()
    assert (fc.loc[has, "lower_95"] <= fc.loc[has, "lower_80"]).all()
    np.testing.assert_allclose((fc["lower_80"] * fc["upper_80"])[has], (fc["forecast"] ** 2)[has], rtol=1e-12)
    # by hand: the first interval of area A, stage lower, h = 1 from the |log errors| of 3 earlier origins
    row = fc[has & (fc["horizon"] == 1)].sort_values(["origin", "stage", "area_code"]).iloc[0]
    past = fc[(fc["horizon"] == 1) & (fc["origin"] < row["origin"])]
    q = np.quantile(np.abs(np.log(past["actual"] / past["forecast"])), 0.8)
    assert abs(row["upper_80"] - row["forecast"] * np.exp(q)) < 1e-9 * row["forecast"]


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared backtest data absent")
def test_nyc_converter_and_backtest(tmp_path: Path) -> None:
    from tools.history import nyc

    assert nyc.main([str(tmp_path / "nyc"), "--source", str(SHARED)]) == 0
    h = read_history(tmp_path / "nyc")
    t = h.tables["enrolment"]
    assert np.isnan(t.counts[t.year_index(2012)]).all()
    assert set(h.areas.loc[h.areas["border_change"], "area_code"]) == {"75", "79", "84"}
    b = run_backtest(h, [parse_method(m) for m in ("last", "ratio")], (2008, 2016), (1, 3))
    k5 = b.scores[(b.scores["period"] == "all") & (b.scores["stage"] == "elementary K-5") & (b.scores["method"] == "last")]
    assert 1.0 < float(k5.loc[k5["horizon"] == 1, "mape"].iloc[0]) < 4.0


@pytest.mark.slow
@pytest.mark.skipif(not SHARED.is_dir(), reason="shared backtest data absent")
def test_norway_and_nz_converters(tmp_path: Path) -> None:
    from tools.history import norway, nz

    assert norway.main([str(tmp_path / "no"), "--source", str(SHARED)]) == 0
    assert nz.main([str(tmp_path / "nz"), "--source", str(SHARED)]) == 0
    no = read_history(tmp_path / "no")
    assert no.tables["population"].counts.shape == (22, 38, 2, 106)
    assert int((~no.areas["border_change"]).sum()) == 33
    b = run_backtest(no, [parse_method("ratio")], (2010, 2021), (1, 5))
    s = b.scores[(b.scores["period"] == "all") & (b.scores["stage"] == "primary 6-11")]
    # the README's naive ratio baseline: 0.89 / 2.02 / 3.22 at h = 1 / 3 / 5
    assert list(s.sort_values("horizon")["mape"].round(1).iloc[[0, 2, 4]]) == [0.9, 2.0, 3.2]
    z = read_history(tmp_path / "nz")
    assert z.tables["enrolment"].entry_lag == 5


@pytest.mark.parametrize(("file", "line", "text", "message"), [
    ("enrolment.csv", 0, "area_code,year,lvl,pupils", "enrolment.csv, column 'level': expected the column (a header cell), found no such column"),
    ("enrolment.csv", 2, "A,2000,x,5", "enrolment.csv, row 3, column 'level': expected a whole number, found 'x'"),
    ("enrolment.csv", 2, "A,2000,1,-5", "enrolment.csv, row 3, column 'pupils': expected a number >= 0, found -5.0"),
    ("enrolment.csv", 2, "A,2000,0,5", "enrolment.csv, row 3, column 'area_code, year, level': expected each key once, found a repeat of row 2"),
    ("enrolment.csv", 2, "Z,2000,1,5", "enrolment.csv, row 3, column 'area_code': expected an area code of areas.csv, found 'Z'"),
    ("areas.csv", 1, "A,a,maybe,", "areas.csv, row 2, column 'border_change': expected True or False, found 'maybe'"),
    ("history.toml", 2, 'naive_years = "3"', "history.toml, key naive_years: expected a whole number (unquoted), found '3'"),
    ("history.toml", 3, "naive_yeras = 3", "history.toml, key naive_yeras: expected one of the keys name, source, enrolment_by, "
     "entry_lag, open_last_level, naive_years, stages, found 'naive_yeras'"),
    ("history.toml", 7, "first = -2", "history.toml, key stages[0].first: expected a number >= -1, found -2"),
    ("history.toml", 6, 'table = "births"', "history.toml, key stages[0].table: expected one of 'population' or 'enrolment', found 'births'"),
])
def test_bad_cells_one_line(tmp_path: Path, file: str, line: int, text: str, message: str) -> None:
    folder = write_history(tmp_path / "h")
    lines = (folder / file).read_text(encoding="utf-8").splitlines()
    lines[line] = text
    (folder / file).write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        read_history(folder)
    assert str(info.value).endswith(message)


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared backtest data absent")
def test_converter_refuses_the_repository() -> None:
    from tools.history import nyc

    inside = Path(__file__).resolve().parents[1] / "build" / "nyc-history"
    with pytest.raises(SystemExit, match="outside the repository"):
        nyc.main([str(inside), "--source", str(SHARED)])
    assert not inside.exists()
