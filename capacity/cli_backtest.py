"""Command line: ``capacity backtest HISTORY``, rolling-origin accuracy of the methods.

:func:`register` adds the subcommand. It reads a history folder
(``docs/data-format.md``, "History for backtests"), runs every method from every origin
(:mod:`capacity.forecast.backtest`), prints the excluded areas, the forecast chosen per
stage (by ``--select-rule``, :mod:`capacity.forecast.selection`) with its scores next to
the naive ones and the ``[method]`` table that runs the chosen forecasts in a scenario
(``docs/scenarios.md``), and writes into ``--out``: ``scores.csv``, ``forecasts.csv``,
``error_by_horizon.png``, ``method.toml`` (that table) and ``meta.json`` (last).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import math
from pathlib import Path
from typing import Any

from capacity.errors import InputError

COLUMNS_FORECASTS = ["set", "method", "stage", "area_code", "origin", "horizon", "forecast", "actual", "size",
                     "lower_80", "upper_80", "lower_95", "upper_95"]


def _span(text: str) -> tuple[int, int]:
    try:
        first, _, last = text.partition(":")
        lo, hi = int(first), int(last or first)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected FIRST:LAST (whole numbers), found {text!r}") from None
    if hi < lo:
        raise argparse.ArgumentTypeError(f"expected FIRST <= LAST, found {text!r}")
    return lo, hi


def register(subparsers: Any) -> None:
    """Add ``backtest`` to the ``capacity`` subcommands."""
    p = subparsers.add_parser(
        "backtest",
        help="measure the accuracy of the forecasting methods on real history",
        description="Rolling-origin backtest: for every origin, fit each method on the years up to it, project "
        "the horizons, compare with what happened; the forecast per stage is chosen by --select-rule on outcomes "
        "known by --select-until and scored on later origins. Writes scores.csv, forecasts.csv, "
        "error_by_horizon.png, method.toml (the [method] table of a scenario that runs the chosen forecasts) and meta.json.",
    )
    p.add_argument("history", metavar="HISTORY", help="history folder (history.toml, areas.csv, population/births/enrolment.csv)")
    p.add_argument("--origins", type=_span, default=None, metavar="FIRST:LAST",
                   help="origin years scored (default: from the first year + naive_years to the last year - 1)")
    p.add_argument("--horizons", type=_span, default=(1, 5), metavar="FIRST:LAST", help="horizons in years (default 1:5)")
    p.add_argument("--methods", default="all", metavar="LIST",
                   help="comma-separated method specs, e.g. last,ratio,progression:median:5,shrunk:band3:5; "
                   "A+B is the mean of A and B (default all)")
    p.add_argument("--select-until", type=int, default=None, metavar="YEAR",
                   help="choose each stage's method on outcomes up to YEAR, score it on origins from YEAR "
                   "(default: the middle of --origins)")
    p.add_argument("--select-rule", default=None, metavar="RULE",
                   help="how each stage's forecast is chosen on the selection forecasts: stage, horizon, top3, pooled "
                   "or prefer-shrunk (default: the rule chosen on the development set, docs/accuracy.md)")
    p.add_argument("--out", default="backtest", metavar="DIR", help="output folder (default: backtest)")
    p.set_defaults(func=cmd_backtest)


def _toml_key(key: str) -> str:
    """A TOML key as written: bare if it can be, else quoted."""
    if key and all(c.isascii() and (c.isalnum() or c in "_-") for c in key):
        return key
    return json.dumps(key, ensure_ascii=False)


def scenario_spec(per_horizon: dict[int, tuple[str, ...]]) -> str | None:
    """The ``method`` spec a scenario runs for a stage's chosen forecast; None if the choice differs by horizon.

    One method: its spec written out in full (:attr:`capacity.forecast.methods.Method.canonical`,
    so that none reads as the engine). The equal-weight mean of members ``m_1 .. m_k``, member
    ``i`` itself the mean of ``n_i`` methods: the flat mean in which each of member ``i``'s
    methods appears ``L / n_i`` times, ``L`` the least common multiple of the ``n_i``, so each
    has the weight :math:`1 / (k n_i)` it has in the chosen forecast
    (``mean(A+B, C)`` -> ``A+B+C+C``).
    """
    from capacity.forecast.methods import parse_method

    if len(set(per_horizon.values())) != 1:
        return None
    members = [parse_method(m) for m in next(iter(per_horizon.values()))]
    if len(members) == 1:
        return members[0].canonical
    leaves = [[p.canonical for p in m.parts] if m.parts else [m.canonical] for m in members]
    common = math.lcm(*(len(parts) for parts in leaves))
    return "+".join(spec for parts in leaves for spec in parts for _ in range(common // len(parts)))


def method_table(members: dict[str, dict[int, tuple[str, ...]]], name: str, select_until: int, rule: str
                 ) -> tuple[str, dict[str, str]]:
    """The ``[method]`` table of a scenario that runs the chosen forecasts, as text and as ``stage -> spec``.

    A stage whose choice differs by horizon (rule ``horizon``) has no single method: it is
    left out, with a comment saying so (a scenario then runs the engine for it).
    """
    from capacity.forecast.selection import describe

    specs = {stage: scenario_spec(per_h) for stage, per_h in members.items()}
    lines = [f"# chosen per stage by capacity backtest on {json.dumps(name, ensure_ascii=False)} (rule {rule!r}, outcomes "
             f"up to {select_until}); paste into a scenario of the district whose history/ this is "
             "(the stages are the history's: name them as in stages.csv)"]
    lines += [f"# {stage}: chosen per horizon ({describe(members[stage])}), not one method for every year: "
              "left out (the engine runs it unless you name a method)" for stage, spec in specs.items() if spec is None]
    lines += ["[method]"] + [f"{_toml_key(stage)} = {json.dumps(spec)}" for stage, spec in specs.items() if spec is not None]
    return "\n".join(lines) + "\n", {stage: spec for stage, spec in specs.items() if spec is not None}


def _csv(frame: Any) -> bytes:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, lineterminator="\n", float_format="%.6g")
    return buffer.getvalue().encode("utf-8")


def _chart(scores: Any, title: str) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    test = scores[scores["period"] == "test"]
    stages = list(dict.fromkeys(test["stage"]))
    methods = list(dict.fromkeys(test["method"]))
    tab = plt.get_cmap("tab20")
    palette = [tab(i) for i in range(20) if i not in (14, 15)]  # no greys: grey is for the naive methods
    fig, axes = plt.subplots(1, len(stages), figsize=(4.2 * len(stages), 4.6), squeeze=False, sharey=True)
    for ax, stage in zip(axes[0], stages, strict=True):
        part = test[test["stage"] == stage]
        for i, method in enumerate(methods):
            rows = part[part["method"] == method]
            naive = {"last": ":", "ratio": "--"}
            colour = "black" if method == "chosen" else "grey" if method in naive else palette[i % len(palette)]
            ax.plot(rows["horizon"], rows["mape"], naive.get(method, "-"), lw=2.5 if method == "chosen" else 1.0,
                    label=method, color=colour, marker="o", markersize=2.5)
        ax.set_title(stage, fontsize=10)
        ax.set_xlabel("horizon (years)")
        ax.set_xticks(sorted(set(int(h) for h in test["horizon"])))
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("MAPE (%), test origins")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=7, loc="lower center", ncol=min(6, len(labels)), frameon=False)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout(rect=(0, 0.04 * (1 + (len(labels) - 1) // 6), 1, 1))
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=120, metadata={"Software": None})
    plt.close(fig)
    return buffer.getvalue()


def cmd_backtest(args: argparse.Namespace) -> int:
    """Run the backtest and write its files."""
    import numpy as np

    from capacity.atomic import check_output_folder, write_files
    from capacity.forecast.backtest import run_backtest
    from capacity.forecast.history import read_history
    from capacity.forecast.methods import DEFAULT_METHODS, parse_method
    from capacity.forecast.selection import DEFAULT_RULE, RULES

    rule = DEFAULT_RULE if args.select_rule is None else args.select_rule.strip()
    if rule not in RULES:
        raise InputError.one("--select-rule", "", "", f"expected one of {', '.join(RULES)}, found {args.select_rule!r}")

    history = read_history(args.history)
    specs = DEFAULT_METHODS if args.methods.strip() == "all" else tuple(s for s in args.methods.split(",") if s.strip())
    if not specs:
        raise InputError.one("--methods", "", "", f"expected at least one method, found {args.methods!r}")
    methods = [parse_method(s) for s in dict.fromkeys(specs)]
    names = ("scores.csv", "forecasts.csv", "error_by_horizon.png", "method.toml", "meta.json")
    check_output_folder(args.out, names, input_folders=[args.history])
    years = np.concatenate([t.years for t in history.tables.values()])
    origins = args.origins or (int(years.min()) + history.settings.naive_years, int(years.max()) - 1)
    result = run_backtest(history, methods, origins, args.horizons, args.select_until, rule)
    for message in result.messages:
        print(message)
    sc = result.scores
    test = sc[sc["period"] == "test"]
    print(f"{result.name}: method per stage chosen by the rule {rule!r} on outcomes up to {result.select_until}, "
          f"scored on origins {result.select_until}-{origins[1]} (MAPE %, h = {args.horizons[0]}..{args.horizons[1]}):")
    for stage, method in result.chosen.items():
        line = []
        for label in ("chosen", "ratio", "last"):
            rows = test[(test["stage"] == stage) & (test["method"] == label)].sort_values("horizon")
            if len(rows):
                line.append(f"{label} " + "/".join(f"{v:.2f}" for v in rows["mape"]))
        print(f"  {stage}: {method}  |  " + "  ".join(line))
    text, table = method_table(result.members, result.name, result.select_until, rule)
    print("To run the chosen forecasts, put this table in a scenario (also in method.toml):")
    print("\n".join(text.splitlines()[1:]))
    inputs = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(Path(args.history).glob("*")) if p.is_file()}
    files: dict[str, bytes] = {
        "scores.csv": _csv(sc),
        "forecasts.csv": _csv(result.forecasts[COLUMNS_FORECASTS]),
        "error_by_horizon.png": _chart(sc, f"{result.name}: error against horizon"),
        "method.toml": text.encode("utf-8"),
    }
    meta = {"command": "backtest", "set": result.name, "origins": list(origins), "horizons": list(args.horizons),
            "methods": [m.spec for m in methods], "select_until": result.select_until, "select_rule": rule,
            "chosen": result.chosen,
            "chosen_by_horizon": {s: {str(h): list(m) for h, m in per_h.items()} for s, per_h in result.members.items()},
            "method_table": table,
            "excluded": result.messages, "inputs": inputs,
            "outputs": {n: hashlib.sha256(b).hexdigest() for n, b in files.items()}}
    files["meta.json"] = (json.dumps(meta, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    write_files(args.out, files, input_folders=[args.history])
    print(f"wrote {', '.join(names)} into {args.out}")
    return 0
