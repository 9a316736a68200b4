"""Weighted least squares of a district's uncertain inputs against ``observed.csv``.

Parameters (each only when an observation informs it)
-----------------------------------------------------
``migration_level`` :math:`a`, ``migration_trend`` :math:`b` (per year)
    Net migration of step year :math:`t` is :math:`M(t) = m \\, s_0(t)\\,(a + b\\,(t - \\bar t))`:
    ``migration.csv`` :math:`m` (its area, sex and age profile kept), the reference scenario's
    scale :math:`s_0`, and :math:`\\bar t` the mean year of the population observations after
    the base year (so :math:`a` is the level over the observed years, nearly uncorrelated
    with :math:`b`). Fitted to population totals; the trend needs two observed years.
``fertility_<year>`` :math:`f_y`
    Fertility of year :math:`y` is the reference scenario's :math:`\\phi_0(y)\\,f_y` times
    ``fertility.csv``; a year without births observed takes the factor of the last observed
    year before it (1 before the first). Fitted to births (a birth index is written in
    ``observed.csv`` as the births it implies).
``enrolment_rate_<stage>`` :math:`r_s`
    Enrolled pupils :math:`r_s C_s(t)` (:math:`C_s` children of the stage's ages); intake
    :math:`r_s C_s(t) / n_s` (:math:`n_s` single ages). Fitted to enrolment and intake.
``places_<stage>`` :math:`p_s`
    Base-year places :math:`p_s P_s`, fitted to places observed in the base year.

Each observation :math:`O_i` has the standard error :math:`\\sigma_i = c_k O_i` (:data:`RELATIVE_SE`
by indicator :math:`k`) and weight :math:`w_i = \\sigma_i^{-2}`; :func:`scipy.optimize.least_squares`
minimises :math:`\\sum_i w_i (P_i(\\theta) - O_i)^2`. The covariance of the estimates is
:math:`(J^\\top W J)^{-1} \\max(1, \\chi^2_\\nu)` with :math:`\\chi^2_\\nu = \\chi^2/(n - p)`:
a fit worse than its stated errors widens the uncertainty instead of hiding it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.optimize import least_squares

from capacity.core.cohort import CohortInputs, project_cohort
from capacity.distributions import year_values
from capacity.errors import InputError
from capacity.inputs import fertility_multiplier, migration_base
from capacity.io.district import District
from capacity.scenario import Scenario

__all__ = ["BAD_CHI2", "BAD_RESIDUAL", "RELATIVE_SE", "Fit", "fit"]

#: Standard error of an observation relative to its value, by indicator (the default weights).
RELATIVE_SE: dict[str, float] = {"population": 0.005, "births": 0.05, "enrolment": 0.02, "intake": 0.02, "places": 0.02}
#: A reduced chi-square above this, or a standardised residual beyond :data:`BAD_RESIDUAL`, is called a bad fit.
BAD_RESIDUAL = 4.0
BAD_CHI2 = 4.0


@dataclass(frozen=True)
class Fit:
    """A calibration: the fitted parameters, each observation's residual, and a plain verdict.

    Attributes
    ----------
    parameters : DataFrame
        ``parameter, initial, value, std_error, fitted_to, n_observations``.
    residuals : DataFrame
        The observations (``indicator ... source``) with ``used``, ``sigma``, ``weight``,
        ``before``, ``after`` (projected with the initial and fitted parameters),
        ``residual`` (after - observed) and ``std_residual`` (residual / sigma).
    covariance : ndarray (parameter, parameter)
    chi2, dof : float, int
        :math:`\\chi^2` of the fit and :math:`n - p`.
    status : str
        ``good fit`` or ``bad fit: ...``, said plainly.
    t_bar : float
        :math:`\\bar t` of the migration trend.
    """

    parameters: pd.DataFrame
    residuals: pd.DataFrame
    covariance: NDArray[np.float64]
    chi2: float
    dof: int
    status: str
    t_bar: float

    def value(self, name: str, default: float) -> float:
        """A fitted parameter, or ``default`` if it was not fitted."""
        p = self.parameters.set_index("parameter")["value"]
        return float(p[name]) if name in p.index else default

    def std_error(self, name: str) -> float:
        """A parameter's standard error (0 if it was not fitted)."""
        p = self.parameters.set_index("parameter")["std_error"]
        return float(p[name]) if name in p.index else 0.0


class _Problem:
    """The forward model: parameters -> projected figures of the observations used."""

    def __init__(self, district: District, scenario: Scenario, obs: pd.DataFrame, trend: bool = True) -> None:
        self.d, self.obs = district, obs
        base = district.base_year
        self.years = np.arange(base, max(int(obs["year"].max()), base + 1) + 1)
        steps = self.years[1:]
        self.mig = migration_base(district, scenario)
        self.mig_scale = year_values(scenario.migration.scale, steps)
        self.fert0 = fertility_multiplier(district, scenario, steps)
        st = district.stages
        self.bands = [(int(a), int(b)) for a, b in zip(st["first_age"], st["last_age"])]
        self.rates = dict(zip(st["stage"], st["enrolment_rate"].astype(float)))
        self.places = district.places.groupby("stage")["places"].sum().to_dict()
        self.area_places = district.places.groupby(["stage", "area_code"])["places"].sum().to_dict()
        pop_years = sorted({int(y) for y in obs.loc[obs["indicator"] == "population", "year"] if int(y) > base})
        birth_years = sorted({int(y) for y in obs.loc[obs["indicator"] == "births", "year"] if int(y) > base})
        self.t_bar = float(np.mean(pop_years)) if pop_years else float(base + 1)
        names: list[str] = []
        if pop_years:
            names += ["migration_level"] + (["migration_trend"] if trend and len(pop_years) >= 2 else [])
        names += [f"fertility_{y}" for y in birth_years]
        for stage in st["stage"]:
            if ((obs["stage"] == stage) & obs["indicator"].isin(["enrolment", "intake"])).any():
                names.append(f"enrolment_rate_{stage}")
            if ((obs["indicator"] == "places") & (obs["stage"] == stage) & (obs["year"] == base)).any():
                names.append(f"places_{stage}")
        self.names = names
        self.birth_years = birth_years
        self.x0 = np.array([self.rates[n[15:]] if n.startswith("enrolment_rate_") else 0.0 if n == "migration_trend" else 1.0
                            for n in names])

    def fertility_path(self, p: Mapping[str, float]) -> NDArray[np.float64]:
        """The factor :math:`f_y` of every step year (carried forward from the last observed year)."""
        out, current = np.ones(len(self.years) - 1), 1.0
        for k, y in enumerate(self.years[1:]):
            current = p.get(f"fertility_{y}", current)
            out[k] = current
        return out

    def project(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        """The projected figure of every observation, given the parameters."""
        p = dict(zip(self.names, (float(v) for v in x)))
        d, steps = self.d, self.years[1:]
        scale = self.mig_scale * (p.get("migration_level", 1.0) + p.get("migration_trend", 0.0) * (steps - self.t_bar))
        fert = d.fertility_array()[None, None, None, :, None] * (self.fert0 * self.fertility_path(p))[:, None, None, None, None]
        inputs = CohortInputs(base=d.population_array(), steps=len(steps), nLx=d.Lx_array()[None, None, :, :, None], fertility=fert,
                              fertility_first_age=d.fertility_first_age, sex_ratio_at_birth=d.sex_ratio_at_birth,
                              net_migration=self.mig[None, ..., None] * scale[:, None, None, None, None])
        proj = project_cohort(inputs, keep_ages=slice(0, 0), age_bands=self.bands, accounting=True)
        assert proj.total is not None and proj.births is not None and proj.bands is not None
        total = proj.total[..., 0].sum(axis=2)  # (year, area)
        births = np.vstack([np.full((1, total.shape[1]), np.nan), proj.births[..., 0].sum(axis=2)])
        children = proj.bands[..., 0].sum(axis=2)  # (year, area, stage)
        codes = {c: i for i, c in enumerate(d.area_codes)}
        stages = {s: i for i, s in enumerate(d.stage_names)}
        out = np.empty(len(self.obs))
        columns = (self.obs[c].astype(str).tolist() for c in ("indicator", "area_code", "stage"))
        for i, (indicator, code, stage, year) in enumerate(zip(*columns, self.obs["year"].tolist())):
            t = int(year) - d.base_year
            area = slice(None) if code not in codes else codes[code]
            if indicator in ("population", "births"):
                out[i] = np.sum((total if indicator == "population" else births)[t, area])
            elif indicator == "places":
                stage_places = self.area_places.get((stage, code), 0) if code in codes else self.places.get(stage, 0)
                out[i] = p.get(f"places_{stage}", 1.0) * stage_places
            else:
                s = stages[stage]
                rate = p.get(f"enrolment_rate_{stage}", self.rates[stage])
                pupils = rate * np.sum(children[t, area, s])
                out[i] = pupils / (self.bands[s][1] - self.bands[s][0] + 1) if indicator == "intake" else pupils
        return out


def _usable(obs: pd.DataFrame, district: District) -> NDArray[np.bool_]:
    """Observations the model can reproduce: totals (no sex or age), years from the base year, places only in the base year."""
    return ((obs["sex"] == "") & (obs["age"] == "") & (obs["year"] >= district.base_year)
            & ((obs["indicator"] != "places") | (obs["year"] == district.base_year))
            & ((obs["indicator"] != "population") | (obs["stage"] == ""))).to_numpy()


def fit(district: District, scenario: Scenario, relative_se: Mapping[str, float] | None = None, trend: bool = True) -> Fit:
    """Fit the district's uncertain inputs to its ``observed.csv`` (see the module docstring).

    Parameters
    ----------
    district : District
        With ``observed.csv``.
    scenario : Scenario
        The reference scenario (its fertility and migration paths are the starting point).
    relative_se : mapping, optional
        Standard errors relative to the observed values, by indicator (default :data:`RELATIVE_SE`).
    trend : bool
        Fit the migration trend (with two or more observed years); ``False``: a constant level only.

    Raises
    ------
    InputError
        Without ``observed.csv``, or with fewer usable observations than parameters.
    """
    if district.observed is None:
        raise InputError.one(str(district.path / "observed.csv"), "", "", "expected observed figures to calibrate against, found no observed.csv")
    se = {**RELATIVE_SE, **(relative_se or {})}
    obs = district.observed[district.observed["indicator"].isin(list(RELATIVE_SE))].reset_index(drop=True)  # shares are checks only
    used = _usable(obs, district)
    problem = _Problem(district, scenario, obs[used].reset_index(drop=True), trend)
    target = problem.obs["value"].to_numpy(float)
    sigma = np.array([se[k] for k in problem.obs["indicator"]]) * np.maximum(target, 1.0)
    n, k = int(used.sum()), len(problem.names)
    if k == 0 or n < k:
        raise InputError.one(str(district.path / "observed.csv"), "", "indicator",
                             f"expected at least as many usable observations as parameters to fit ({k}: {', '.join(problem.names) or 'none'}), "
                             f"found {n}: the parameters are not identified")

    def residual(x: NDArray[np.float64]) -> NDArray[np.float64]:
        out: NDArray[np.float64] = (problem.project(x) - target) / sigma
        return out

    before = problem.project(problem.x0)
    result = least_squares(residual, problem.x0, method="trf", x_scale="jac")
    after = problem.project(result.x)
    r = (after - target) / sigma
    jac = np.asarray(result.jac)
    informative = int((np.abs(jac).sum(axis=1) > 0).sum())  # e.g. the base-year population informs nothing
    if informative < k or np.linalg.matrix_rank(jac) < k:
        raise InputError.one(str(district.path / "observed.csv"), "", "indicator",
                             f"expected observations that determine every parameter ({', '.join(problem.names)}), found {informative} "
                             f"informative observations of {n} and a Jacobian of rank {np.linalg.matrix_rank(jac)} < {k}")
    chi2, dof = float(r @ r), informative - k
    red = chi2 / dof if dof > 0 else float("nan")
    cov = np.linalg.pinv(jac.T @ jac) * (max(1.0, red) if dof > 0 else 1.0)
    errors = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    worst = float(np.max(np.abs(r)))
    if dof == 0:
        status = (f"exactly determined: {informative} informative observations for {k} parameters, residuals 0 by construction and the uncertainty "
                  "comes from the stated observation errors alone")
    elif red > BAD_CHI2 or worst > BAD_RESIDUAL:
        status = f"bad fit: reduced chi-square {red:.2f} (above {BAD_CHI2:g} is bad), largest standardised residual {worst:.1f} (beyond {BAD_RESIDUAL:g} is bad)"
    else:
        status = f"good fit: reduced chi-square {red:.2f}, largest standardised residual {worst:.1f} (beyond {BAD_RESIDUAL:g} is bad)"
    fitted_to = {n_: _fitted_to(n_) for n_ in problem.names}
    counts = dict(zip(problem.names, (np.abs(jac) > 0).sum(axis=0).tolist()))
    parameters = pd.DataFrame({"parameter": problem.names, "initial": problem.x0, "value": result.x, "std_error": errors,
                               "fitted_to": [fitted_to[n_] for n_ in problem.names],
                               "n_observations": [counts[n_] for n_ in problem.names]})
    res = obs.copy()
    res["used"] = np.where(used, "yes", "no")
    for name, values in (("sigma", sigma), ("weight", 1.0 / sigma**2), ("before", before), ("after", after),
                         ("residual", after - target), ("std_residual", r)):
        res[name] = np.nan
        res.loc[used, name] = values
    return Fit(parameters, res, cov, chi2, dof, status, problem.t_bar)


def _fitted_to(name: str) -> str:
    if name.startswith("migration"):
        return "population totals after the base year"
    if name.startswith("fertility_"):
        return f"births in {name[10:]}"
    if name.startswith("enrolment_rate_"):
        return f"enrolment and intake of {name[15:]}"
    return f"places of {name[7:]} in the base year"
