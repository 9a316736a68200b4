"""Print the tables of ``docs/accuracy.md``: ``python -m tools.history.accuracy [--source DIR]``.

Converts the three shared sets into a temporary folder, backtests every default method
(origins: Norway 2010-2021, New Zealand 2006-2015, New York 2008-2016; horizons 1-5; the
method per stage chosen on outcomes known by the middle origin) and prints Markdown: per
set and stage, MAPE by horizon of the chosen method and of the naive ones on the test
origins, the naive ones on all origins (as the data README measures them), the share of
(stage, horizon) cells where the chosen method beats the naive ratio, and the coverage of
the 80 % and 95 % intervals. With ``--candidates``, also every method's selection and
test scores per set (:func:`candidates`).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import pandas as pd

from capacity.forecast.backtest import Backtest, run_backtest, run_rules
from capacity.forecast.history import read_history
from capacity.forecast.methods import DEFAULT_METHODS, parse_method
from capacity.forecast.selection import RULES
from tools.history import norway, norway_municipalities, nyc, nz
from tools.history.common import SHARED

SETS = [(norway, (2010, 2021)), (nz, (2006, 2015)), (nyc, (2008, 2016))]
#: Origins of the development set (as the Norwegian wards).
DEVELOPMENT = (2010, 2021)


def _row(scores: pd.DataFrame, period: str, method: str, stage: str) -> str:
    rows = scores[(scores["period"] == period) & (scores["method"] == method) & (scores["stage"] == stage)]
    values = dict(zip(rows["horizon"], rows["mape"], strict=True))
    return " | ".join(f"{values[h]:.2f}" if h in values else "-" for h in range(1, 6))


def tables(result: Backtest, origins: tuple[int, int]) -> list[str]:
    """Markdown lines for one set."""
    sc = result.scores
    lines = [f"### {result.name}", "",
             f"Chosen on outcomes up to {result.select_until}; test origins {result.select_until}-{origins[1]}; "
             f"all origins {origins[0]}-{origins[1]}. MAPE %, h = 1 .. 5.", "",
             "| stage | method | period | h=1 | h=2 | h=3 | h=4 | h=5 |", "|---|---|---|---|---|---|---|---|"]
    wins = cells = 0
    for stage, method in result.chosen.items():
        lines.append(f"| {stage} | chosen: {method} | test | {_row(sc, 'test', 'chosen', stage)} |")
        for naive in ("ratio", "last"):
            lines.append(f"| {stage} | {naive} | test | {_row(sc, 'test', naive, stage)} |")
        for naive in ("ratio", "last"):
            lines.append(f"| {stage} | {naive} | all | {_row(sc, 'all', naive, stage)} |")
        test = sc[(sc["period"] == "test") & (sc["stage"] == stage)]
        chosen = test[test["method"] == "chosen"].set_index("horizon")["mape"]
        ratio = test[test["method"] == "ratio"].set_index("horizon")["mape"]
        both = chosen.index.intersection(ratio.index)
        cells += len(both)
        wins += int((chosen[both] < ratio[both]).sum())
    test = sc[sc["period"] == "test"]
    chosen = test[test["method"] == "chosen"]
    n = chosen["n_interval"].sum()
    cover80 = (chosen["inside_80"] * chosen["n_interval"]).sum() / n if n else float("nan")
    cover95 = (chosen["inside_95"] * chosen["n_interval"]).sum() / n if n else float("nan")
    pooled = sc[(sc["period"] == "all") & (sc["method"] != "chosen")]
    m = pooled["n_interval"].sum()
    p80 = (pooled["inside_80"] * pooled["n_interval"]).sum() / m if m else float("nan")
    p95 = (pooled["inside_95"] * pooled["n_interval"]).sum() / m if m else float("nan")
    lines += ["", f"Pooled over every method and all origins: {100 * p80:.1f} % inside the 80 % intervals, "
              f"{100 * p95:.1f} % inside the 95 % intervals ({int(m):,} of {int(pooled['n'].sum()):,} forecasts "
              "had an interval)."]
    lines += ["", f"Chosen method beats the naive ratio in {wins} of {cells} (stage, horizon) cells on the test origins. "
              f"Intervals of the chosen method on the test origins: {100 * cover80:.1f} % inside the 80 % interval, "
              f"{100 * cover95:.1f} % inside the 95 % interval ({int(n):,} forecasts with an interval).", ""]
    return lines


def candidates(result: Backtest) -> list[str]:
    """Markdown lines: every method's selection score (the rule's criterion) and test scores, per stage.

    Per stage: the mean MAPE over horizons on the selection forecasts (least = chosen among
    the non-naive methods), the mean MAPE over horizons on the test origins, and at how many
    test horizons the method's MAPE is below the naive ratio's.
    """
    sc = result.scores
    stages = list(result.chosen)
    head = "| method | " + " | ".join(f"{s}: selection | test | < ratio" for s in stages) + " |"
    lines = [f"Every candidate on {result.name}: mean MAPE over horizons on the selection forecasts and on the "
             "test origins, and the test horizons where it beats the naive ratio (chosen in bold).", "",
             head, "|---|" + "---|---|---|" * len(stages)]
    sel = sc[sc["period"] == "selection"]
    test = sc[sc["period"] == "test"]
    for method in dict.fromkeys(m for m in test["method"] if m != "chosen"):
        cells = []
        for stage in stages:
            s_rows = sel[(sel["method"] == method) & (sel["stage"] == stage)]
            t_rows = test[(test["method"] == method) & (test["stage"] == stage)].set_index("horizon")["mape"]
            ratio = test[(test["method"] == "ratio") & (test["stage"] == stage)].set_index("horizon")["mape"]
            both = t_rows.index.intersection(ratio.index)
            mark = "**" if result.chosen[stage] == method else ""
            cells.append(f"{mark}{s_rows['mape'].mean():.2f}{mark} | {t_rows.mean():.2f} | {int((t_rows[both] < ratio[both]).sum())}/{len(both)}")
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return lines + [""]


def _cells(result: Backtest) -> tuple[int, int, float]:
    """(cells where chosen beats ratio, cells, mean chosen MAPE over them) on the test origins."""
    test = result.scores[result.scores["period"] == "test"]
    chosen = test[test["method"] == "chosen"].set_index(["stage", "horizon"])["mape"]
    ratio = test[test["method"] == "ratio"].set_index(["stage", "horizon"])["mape"]
    both = chosen.index.intersection(ratio.index)
    return int((chosen[both] < ratio[both]).sum()), len(both), float(chosen[both].mean())


def _coverage(result: Backtest) -> tuple[float, float, int]:
    test = result.scores[(result.scores["period"] == "test") & (result.scores["method"] == "chosen")]
    n = int(test["n_interval"].sum())
    if not n:
        return float("nan"), float("nan"), 0
    return (float((test["inside_80"] * test["n_interval"]).sum() / n),
            float((test["inside_95"] * test["n_interval"]).sum() / n), n)


def pick_rule(results: dict[str, Backtest]) -> str:
    """The rule picked by the criterion fixed in advance (docs/selection-plan.md).

    Most (stage, horizon) cells where the chosen forecast's test MAPE is below the naive
    ratio's; ties: lower mean chosen MAPE over the cells; then the order of ``RULES``.
    """
    def key(rule: str) -> tuple[int, float, int]:
        wins, _, mean = _cells(results[rule])
        return -wins, round(mean, 12), RULES.index(rule)
    return min(results, key=key)


def compare_rules(results: dict[str, Backtest]) -> list[str]:
    """Markdown lines: every rule's choice and test scores on one set, and the rule picked."""
    any_result = next(iter(results.values()))
    stages = list(any_result.chosen)
    lines = [f"Selection rules on {any_result.name} (chosen on outcomes up to {any_result.select_until}, "
             "scored on the later origins): cells where the chosen forecast beats the naive ratio, per stage and in "
             "all; mean MAPE of the chosen forecast over the cells; its 80 % / 95 % interval coverage on the test origins.",
             "", "| rule | " + " | ".join(stages) + " | cells < ratio | mean MAPE | inside 80 % | inside 95 % |",
             "|---|" + "---|" * (len(stages) + 4)]
    for rule, result in results.items():
        test = result.scores[result.scores["period"] == "test"]
        per_stage = []
        for stage in stages:
            here = test[test["stage"] == stage]
            chosen = here[here["method"] == "chosen"].set_index("horizon")["mape"]
            ratio = here[here["method"] == "ratio"].set_index("horizon")["mape"]
            both = chosen.index.intersection(ratio.index)
            per_stage.append(f"{int((chosen[both] < ratio[both]).sum())}/{len(both)}")
        wins, cells, mean = _cells(result)
        c80, c95, _ = _coverage(result)
        lines.append(f"| ({'abcde'[RULES.index(rule)]}) {rule} | " + " | ".join(per_stage)
                     + f" | {wins}/{cells} | {mean:.3f} | {100 * c80:.1f} | {100 * c95:.1f} |")
    lines += ["", "What each rule chose:", "", "| rule | " + " | ".join(stages) + " |", "|---|" + "---|" * len(stages)]
    for rule, result in results.items():
        lines.append(f"| {rule} | " + " | ".join(result.chosen[s] for s in stages) + " |")
    ratio_rows = []
    for stage in stages:
        test = any_result.scores[(any_result.scores["period"] == "test") & (any_result.scores["stage"] == stage)]
        ratio_rows.append(f"| {stage} | ratio | {_row(test, 'test', 'ratio', stage)} |")
        for rule, result in results.items():
            t = result.scores[(result.scores["period"] == "test") & (result.scores["stage"] == stage)]
            ratio_rows.append(f"| {stage} | {rule} | {_row(t, 'test', 'chosen', stage)} |")
    lines += ["", "MAPE % on the test origins, h = 1 .. 5:", "", "| stage | forecast | h=1 | h=2 | h=3 | h=4 | h=5 |",
              "|---|---|---|---|---|---|---|", *ratio_rows]
    lines += ["", f"Picked by the criterion fixed in advance: **{pick_rule(results)}**.", ""]
    return lines


def development(source: str) -> list[str]:
    """Markdown lines of the development set: every rule compared, the rule picked, every candidate."""
    methods = [parse_method(m) for m in DEFAULT_METHODS]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "municipalities"
        norway_municipalities.main([str(folder), "--source", source])
        history = read_history(folder)
        results = run_rules(history, methods, DEVELOPMENT, (1, 5), RULES)
    lines = [f"### {history.settings.name} (development set)", ""]
    lines += [f"{len(history.areas) - len(next(iter(results.values())).messages)} municipalities scored; "
              f"left out: " + ", ".join(m.split(": ", 1)[1] for m in next(iter(results.values())).messages) + ".", ""]
    return lines + compare_rules(results) + candidates(results[pick_rule(results)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="print the backtest tables of docs/accuracy.md")
    parser.add_argument("--source", default=str(SHARED), metavar="DIR")
    parser.add_argument("--candidates", action="store_true", help="also print every candidate's scores per set")
    parser.add_argument("--development", action="store_true",
                        help="instead: the development set (Norwegian municipalities), every selection rule compared")
    args = parser.parse_args(argv)
    if args.development:
        print("\n".join(development(args.source)))
        return 0
    methods = [parse_method(m) for m in DEFAULT_METHODS]
    out: list[str] = []
    extra: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        for module, origins in SETS:
            folder = Path(tmp) / module.__name__.rsplit(".", 1)[-1]
            module.main([str(folder), "--source", args.source])
            result = run_backtest(read_history(folder), methods, origins, (1, 5))
            out += tables(result, origins)
            if args.candidates:
                extra += candidates(result)
    print("\n".join(out + extra))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
