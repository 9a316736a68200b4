"""A fit as files: the calibrated district folder, its fit report and its uncertainty scenario.

The folder holds the district's files with the fitted inputs replaced:

* ``migration.csv``: :math:`a\\,m` (the fitted level, profile kept);
* ``fertility.csv``: the mean :math:`\bar f` of the fitted factors times the rates (a level: one
  year's spike, e.g. a dragon year, is not carried into every later year);
* ``stages.csv``: ``enrolment_rate`` :math:`r_s`; ``places.csv``: :math:`p_s` times the places, rounded;
* ``sources.csv``: each replaced column says what it was fitted to, with the value and its
  standard error;

and besides them ``calibrated.toml``, a scenario (extending nothing) with the fitted paths
(the migration trend over the observed years, the fertility factor of each observed year)
and the uncertainty: the reference scenario's spread and the fit's standard error combined,
:math:`\\sigma = \\sqrt{\\sigma_0^2 + (\\mathrm{se}/\\hat\\theta)^2}`, so that ``--draws`` includes
both; ``fit_parameters.csv``, ``fit_residuals.csv``,
``fit.png`` (projected minus observed, in per cent, before and after) and
``fit_summary.txt`` (the verdict).
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from capacity.calibrate.fit import Fit, fit
from capacity.distributions import Distribution, year_values
from capacity.io.district import District, load_district
from capacity.scenario import Scenario

__all__ = ["calibrate", "calibrated_files", "fertility_level", "scenario_toml"]


def _csv(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False, lineterminator="\n").encode("utf-8")


def _spread(dist: Distribution | None, key: str) -> float:
    return float(dict(dist.params).get(key, 0.0)) if dist is not None else 0.0


def scenario_toml(district: District, result: Fit, reference: Scenario) -> str:
    """The ``calibrated.toml`` scenario: fitted year paths and combined uncertainty (see the module docstring)."""
    years = np.arange(district.base_year, reference.horizon + 1)
    birth_years = [int(p[10:]) for p in result.parameters["parameter"] if p.startswith("fertility_")]
    f_bar = fertility_level(result)
    current, fert = f_bar, []
    ref_fert = year_values(reference.fertility.multiplier, years)
    for k, y in enumerate(years):
        current = result.value(f"fertility_{y}", f_bar if not birth_years or y > birth_years[-1] else current)
        fert.append(ref_fert[k] * current / f_bar)
    a, b = result.value("migration_level", 1.0), result.value("migration_trend", 0.0)
    res = result.residuals
    pop_years = sorted(int(y) for y in set(res.loc[(res["indicator"] == "population") & (res["used"] == "yes"), "year"].tolist()) if int(y) > district.base_year)
    last = pop_years[-1] if pop_years else district.base_year
    ref_mig = year_values(reference.migration.scale, years)
    trend = [(a + b * (float(min(int(y), last)) - result.t_bar)) / a if abs(a) > 0.05 and district.base_year < y <= last else 1.0 for y in years]
    mig = ref_mig * np.array(trend)
    se_bar = float(np.sqrt(sum(result.std_error(f"fertility_{y}") ** 2 for y in birth_years))) / max(len(birth_years), 1)
    sf = float(np.hypot(_spread(reference.fertility.uncertainty, "sigma"), se_bar / f_bar))
    sm = float(np.hypot(_spread(reference.migration.uncertainty, "sd"), result.std_error("migration_level") / abs(a) if abs(a) > 0 else 0.0))

    def table(values: np.ndarray) -> str:
        return "{ " + ", ".join(f"{y} = {v:.4f}" for y, v in zip(years, values)) + " }"

    return "\n".join([
        "# Written by `capacity calibrate`: the fitted paths and the uncertainty of the calibrated district.",
        f"# Reference scenario: {reference.name}. Fit: {result.status}.",
        f"# Fertility: the factor of each observed year relative to fertility.csv (scaled by their mean, {f_bar:.4f});"
        " after the last observed year the reference path.",
        f"# Migration: level {a:.3f}, trend {b:+.3f} a year around {result.t_bar:.1f} (migration.csv holds the level);"
        f" held at the level after {last}.",
        "# Uncertainty: the reference's spread and the fit's standard error combined (root sum of squares).",
        'name = "calibrated"',
        f'description = "Calibrated to observed.csv ({reference.name} as reference): fitted paths, fit uncertainty in the draws"',
        f"horizon = {reference.horizon}",
        "",
        "[fertility]",
        f"multiplier = {table(np.array(fert))}",
        f'uncertainty = {{ dist = "lognormal", median = 1.0, sigma = {sf:.4f} }}',
        "",
        "[migration]",
        f"scale = {table(mig)}",
        f'uncertainty = {{ dist = "normal", mean = 1.0, sd = {sm:.4f} }}',
        "",
    ])


def fertility_level(result: Fit) -> float:
    """The mean of the fitted fertility factors (1 without births observed): the level ``fertility.csv`` carries."""
    values = [float(v) for p, v in zip(result.parameters["parameter"], result.parameters["value"]) if str(p).startswith("fertility_")]
    return float(np.mean(values)) if values else 1.0


def _chart(result: Fit) -> bytes:
    from matplotlib.figure import Figure

    res = result.residuals[result.residuals["used"] == "yes"]
    labels = [" ".join(str(x) for x in (r.indicator, r.stage, r.area_code, r.year) if x) for r in res.itertuples()]
    value = res["value"].to_numpy(float)
    fig = Figure(figsize=(8, 0.35 * len(res) + 1.6))
    ax = fig.add_subplot()
    pos = np.arange(len(res))
    ax.barh(pos - 0.2, 100 * (res["before"].to_numpy(float) - value) / value, 0.4, label="before calibration", color="#bbbbbb")
    ax.barh(pos + 0.2, 100 * (res["after"].to_numpy(float) - value) / value, 0.4, label="after calibration", color="#1f77b4")
    ax.set_yticks(pos, labels, fontsize=7)
    ax.invert_yaxis()
    ax.axvline(0, color="black", lw=0.8)
    ax.set_xlabel("projected minus observed, % of observed")
    ax.set_title("\n".join(textwrap.wrap(result.status, 100)), fontsize=8)
    ax.legend(fontsize=7)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    return buf.getvalue()


def _sources(district: District, result: Fit, changed: Mapping[tuple[str, str], str]) -> bytes:
    src = district.sources.copy()
    for (file, column), text in changed.items():
        hit = (src["file"] == file) & (src["column"] == column)
        if hit.any():
            src.loc[hit, "method"] = src.loc[hit, "method"].astype(str) + "; then " + text
            src.loc[hit, "estimate"] = "yes"
        else:
            src.loc[len(src)] = [file, column, "yes", "capacity calibrate", text]
    return _csv(src)


def calibrated_files(district: District, result: Fit, reference: Scenario) -> dict[str, bytes]:
    """Every file of the calibrated district folder, its fit report and ``calibrated.toml`` (see the module docstring)."""
    files = {name: path.read_bytes() for name, path in district.files.items()}
    changed: dict[tuple[str, str], str] = {}

    def fitted(name: str) -> str:
        return f"{result.value(name, np.nan):.4f} (se {result.std_error(name):.4f})"

    if "migration_level" in set(result.parameters["parameter"]):
        mig = district.migration.copy()
        mig["net_migrants"] = (mig["net_migrants"] * result.value("migration_level", 1.0)).round(4)
        files["migration.csv"] = _csv(mig)
        changed[("migration.csv", "net_migrants")] = (f"calibrated: scaled by the level {fitted('migration_level')} fitted by weighted least "
                                                      "squares to the population totals of observed.csv (capacity calibrate)")
    births = [p for p in result.parameters["parameter"] if p.startswith("fertility_")]
    if births:
        fert = district.fertility.copy()
        fert["rate"] = (fert["rate"] * fertility_level(result)).round(8)
        files["fertility.csv"] = _csv(fert)
        changed[("fertility.csv", "rate")] = (f"calibrated: scaled by {fertility_level(result):.4f}, the mean of the factors "
                                              + ", ".join(f"{p[10:]} {fitted(p)}" for p in births) + " fitted to the births in observed.csv "
                                              "(each year's factor in calibrated.toml)")
    rates = [p for p in result.parameters["parameter"] if p.startswith("enrolment_rate_")]
    if rates:
        st = pd.read_csv(io.BytesIO(files["stages.csv"]), dtype=str, keep_default_na=False)
        for p in rates:
            st.loc[st["stage"] == p[15:], "enrolment_rate"] = f"{result.value(p, 1.0):.4f}"
        files["stages.csv"] = _csv(st)
        changed[("stages.csv", "enrolment_rate")] = "calibrated: " + ", ".join(f"{p[15:]} {fitted(p)}" for p in rates) + \
            " fitted to enrolment and intake in observed.csv"
    places = [p for p in result.parameters["parameter"] if p.startswith("places_")]
    if places:
        pl = district.places.copy()
        for p in places:
            hit = pl["stage"] == p[7:]
            pl.loc[hit, "places"] = np.rint(pl.loc[hit, "places"] * result.value(p, 1.0)).astype(np.int64)
        files["places.csv"] = _csv(pl)
        changed[("places.csv", "places")] = "calibrated: " + ", ".join(f"{p[7:]} x {fitted(p)}" for p in places) + \
            " fitted to the base-year places in observed.csv"
    files["sources.csv"] = _sources(district, result, changed)
    files["calibrated.toml"] = scenario_toml(district, result, reference).encode("utf-8")
    files["fit_parameters.csv"] = _csv(result.parameters)
    files["fit_residuals.csv"] = _csv(result.residuals)
    files["fit.png"] = _chart(result)
    files["fit_summary.txt"] = (f"{result.status}\nchi-square {result.chi2:.3f} on {result.dof} degrees of freedom; "
                                        f"{len(result.parameters)} parameters, {int((result.residuals['used'] == 'yes').sum())} "
                                        "observations used\n").encode()
    return files


def calibrate(district: str | Path | None, out: str | Path, reference: Scenario, relative_se: Mapping[str, float] | None = None) -> tuple[Fit, Path]:
    """Fit a district folder to its ``observed.csv`` and write the calibrated folder ``out`` (atomically per file).

    Returns the fit and the folder; ``out`` may not be, contain or lie inside the district folder.
    """
    from capacity.atomic import write_files

    d = load_district(district)
    result = fit(d, reference, relative_se)
    files = calibrated_files(d, result, reference)
    if d.history is not None:  # the district's own past goes with it, unchanged
        history = {p.name: p.read_bytes() for p in sorted((d.path / "history").iterdir()) if p.is_file()}
        write_files(Path(out) / "history", history, last="history.toml", input_folders=[d.path])
    folder = write_files(out, files, last="fit_summary.txt", input_folders=[d.path])
    return result, folder
