"""Does a scenario fit a district? Every check before any work starts.

A scenario file is checked on its own when it is loaded (:mod:`capacity.scenario_file`);
what it says can only be judged against a district here: the stages, areas and projects
it names must exist, years must lie after the district's base year (places that open in
or before the base year are existing places, in ``places.csv``), age bands within the
district's open age, and a run must fit in memory. Each problem is an
:class:`~capacity.errors.InputError` naming the scenario file and the key.
"""

from __future__ import annotations

import os

from capacity import plan
from capacity.errors import InputError
from capacity.io.district import District
from capacity.scenario import Scenario

__all__ = ["MEMORY_ENV", "check_draws", "check_scenario", "estimate_bytes"]


def check_scenario(district: District, scenario: Scenario) -> None:
    """Raise InputError if the scenario names stages, areas or projects the district lacks."""
    file = scenario.source or f"scenario '{scenario.name}'"
    if scenario.horizon <= district.base_year:
        raise InputError.one(file, "key horizon", "",
                             f"expected a year after the base year {district.base_year}, found {scenario.horizon}")
    stages = set(district.stage_names)
    for stage, _name, _ in scenario.enrolment:
        if stage not in stages:
            raise InputError.one(file, f"key enrolment.{stage}", "", f"expected a stage of the district ({', '.join(district.stage_names)})")
    ids = set(district.projects["project_id"]) | {dict(r)["project_id"] for r in scenario.projects.add}
    p = scenario.projects
    for key, items in (("opening_year", [k for k, _ in p.opening_year]), ("delay", [k for k, _ in p.delay]),
                       ("cancel", list(p.cancel)), ("phases", [k for k, _ in p.phases]),
                       ("delay_uncertainty", [k for k, _ in p.delay_uncertainty]),
                       ("cancel_probability", [k for k, _ in p.cancel_probability])):
        for pid in items:
            if pid != "*" and pid not in ids:
                raise InputError.one(file, f"key projects.{key}.{pid}", "", "expected a project id of projects.csv or projects.add")
    areas = set(district.area_codes)
    for i, row in enumerate(p.add):
        r = dict(row)
        if r["area_code"] not in areas:
            raise InputError.one(file, f"key projects.add[{i}].area_code", "", f"expected an area code of the district, found {r['area_code']!r}")
        if r["stage"] not in stages:
            raise InputError.one(file, f"key projects.add[{i}].stage", "", f"expected a stage of the district, found {r['stage']!r}")
    for code, _ in scenario.migration.scale_by_area:
        if code not in areas:
            raise InputError.one(file, f"key migration.scale_by_area.{code}", "", "expected an area code of the district")
    for i, (code, _, _) in enumerate(scenario.housing.developments):
        if code not in areas:
            raise InputError.one(file, f"key housing.developments[{i}].area_code", "", f"expected an area code of the district, found {code!r}")
    _check_method(district, scenario, file)
    if scenario.demand_from_plan and (district.plan is None or plan.needs(district).empty):
        raise InputError.one(file, "key demand.source", "", "expected a district whose plan.csv states needs when demand "
                             "comes from the plan")
    _check_years(district, scenario, file)
    for lo, hi, _ in scenario.migration.scale_by_age:
        if hi > district.open_age:
            raise InputError.one(file, f"key migration.scale_by_age.{lo}-{hi}", "",
                                 f"expected ages within 0..{district.open_age} (the open age of the district), found {lo}-{hi}")
    for lo, hi, _ in scenario.housing.children_per_dwelling:
        if hi > district.open_age:
            raise InputError.one(file, f"key housing.children_per_dwelling.{lo}-{hi}", "",
                                 f"expected ages within 0..{district.open_age} (the open age of the district), found {lo}-{hi}")


def _engine_settings(scenario: Scenario) -> list[tuple[str, str]]:
    """The scenario's keys that change the engine's rates (``(key, what)``), as set to other than their defaults."""
    f, m = scenario.fertility, scenario.migration
    found = [("fertility.multiplier", f.multiplier != 1.0), ("fertility.tfr", f.tfr is not None),
             ("fertility.uncertainty", f.uncertainty is not None), ("migration.scale", m.scale != 1.0),
             ("migration.scale_by_area", bool(m.scale_by_area)), ("migration.scale_by_age", bool(m.scale_by_age)),
             ("migration.uncertainty", m.uncertainty is not None), ("migration.timing", m.timing != "end"),
             ("mortality.death_rate_multiplier", scenario.mortality.death_rate_multiplier != 1.0)]
    files = {"fertility": "fertility.csv", "migration": "migration.csv", "mortality": "life_table.csv"}
    return [(key, files[key.split(".")[0]]) for key, given in found if given]


def _check_method(district: District, scenario: Scenario, file: str) -> None:
    """A forecasting ``method``: stages of the district, a district with a history, no engine settings beside it."""
    from capacity.forecast.driver import ENGINE, stage_methods
    from capacity.forecast.methods import parse_method

    if not isinstance(scenario.method, str):
        for stage, _ in scenario.method:
            if stage not in district.stage_names:
                raise InputError.one(file, f"key method.{stage}", "",
                                     f"expected a stage of the district ({', '.join(district.stage_names)}), found {stage!r}")
    chosen = {stage: spec for stage, spec in stage_methods(scenario, district.stage_names).items() if spec != ENGINE}
    if not chosen:
        return
    for stage, spec in chosen.items():  # a Scenario built in code has not been through the file's checks
        try:
            parse_method(spec)
        except InputError as error:
            where = "key method" if isinstance(scenario.method, str) else f"key method.{stage}"
            raise InputError.one(file, where, "", error.problems[0].expected) from None
    stage, spec = next(iter(chosen.items()))
    key = "key method" if isinstance(scenario.method, str) else f"key method.{stage}"
    if district.history is None:
        raise InputError.one(file, key, "", f"expected a district with a history/ folder (docs/data-format.md, \"A district's "
                             f"history\") for method {spec!r}, found none in {district.path.name or district.path}")
    population = district.history.tables["population"]
    for stage, spec in chosen.items():
        if not parse_method(spec).applies(population):
            where = "key method" if isinstance(scenario.method, str) else f"key method.{stage}"
            raise InputError.one(file, where, "", f"expected a method that applies to the district's history (a population "
                                 f"by both sexes has no female rows for the engine's Hamilton-Perry), found {spec!r}")
    for name, table in _engine_settings(scenario):
        raise InputError.one(file, f"key {name}", "",
                             f"expected no {name} with method {spec!r} (the method projects the children from the district's "
                             f"history, not from {table}: the key would be ignored); remove it, or use method = "
                             f"\"{ENGINE}\" for every stage")
    if scenario.demand_from_plan:
        raise InputError.one(file, "key demand.source", "",
                             f"expected \"projection\" with method {spec!r} (demand taken from the plan projects no "
                             f"children: the method would be ignored), found \"plan\"")


def _check_years(district: District, scenario: Scenario, file: str) -> None:
    """Opening years and completions after the base year, also after delays."""
    base = district.base_year
    p = scenario.projects
    overrides = dict(p.opening_year)
    delays = dict(p.delay)
    for pid, year in p.opening_year:
        if year <= base:
            raise InputError.one(file, f"key projects.opening_year.{pid}", "",
                                 f"expected a year after the base year {base} (places open by then are existing places, "
                                 f"in places.csv), found {year}")
    for i, row in enumerate(p.add):
        year = int(dict(row)["opening_year"])
        if year <= base:
            raise InputError.one(file, f"key projects.add[{i}].opening_year", "",
                                 f"expected a year after the base year {base}, found {year}")
    planned: dict[str, int] = {str(k): int(v) for k, v in zip(district.projects["project_id"], district.projects["opening_year"])}
    planned.update({str(dict(r)["project_id"]): int(dict(r)["opening_year"]) for r in p.add})
    for pid, year in planned.items():
        start = int(overrides.get(pid, year))
        key = pid if pid in delays else "*"
        delay = delays.get(key, 0)
        if delay and start + delay <= base:
            raise InputError.one(file, f"key projects.delay.{key}", "",
                                 f"expected a delay that keeps project {pid} (opening {start}) after the base year {base}, "
                                 f"found {delay}")
    for i, (_, year, _) in enumerate(scenario.housing.developments):
        if year <= base:
            raise InputError.one(file, f"key housing.developments[{i}].year", "",
                                 f"expected a completion year after the base year {base} (earlier dwellings are in "
                                 f"the base population), found {year}")


#: Environment variable: memory (bytes) a run may plan to use, instead of what the machine has.
MEMORY_ENV = "CAPACITY_MEMORY_BYTES"

#: Bytes held per result cell (year x area x stage x sector) and draw at the peak of a run:
#: about ten float64 arrays of that size (demand and places, their copies in the labelled
#: result, the gap per area, quantiles), measured by ``benchmarks/bench_run.py`` (1,736 MiB
#: for 10,000 draws of Haizhu, 16 years x 19 areas x 4 stages x 2 sectors).
BYTES_PER_CELL_DRAW = 80
#: Fixed cost of a run (libraries, the district, the projection engine's buffers).
BASE_BYTES = 400 * 2**20


def estimate_bytes(district: District, years: int, draws: int, scenarios: int = 1) -> int:
    r"""The memory a run needs at its peak, estimated.

    :math:`B = B_0 + b \, n_s \, n_t \, (n_a + 1) \, n_{st} \cdot 2 \cdot \max(1, n_d)`
    with :math:`b` = :data:`BYTES_PER_CELL_DRAW` and :math:`B_0` = :data:`BASE_BYTES`.

    Parameters
    ----------
    district : District
    years : int
        Years in the run (base year to horizon).
    draws : int
        Monte Carlo draws (0: one deterministic run).
    scenarios : int
        Scenarios run together (their results are held together).

    Returns
    -------
    int
        Bytes.
    """
    cells = years * (len(district.area_codes) + 1) * len(district.stage_names) * 2
    return BASE_BYTES + BYTES_PER_CELL_DRAW * scenarios * cells * max(1, draws)


def available_bytes() -> int:
    """Memory a run may use: ``$CAPACITY_MEMORY_BYTES``, else the machine's available memory."""
    env = os.environ.get(MEMORY_ENV)
    if env:
        return int(env)
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))


def check_draws(district: District, scenarios: list[Scenario], draws: int) -> None:
    """Refuse, before any work, a run that would not fit in memory.

    Raises
    ------
    InputError
        Naming ``--draws``, the estimate and what is available.
    """
    if draws > 0:  # a forecasting method's draws need its errors measured on the district's history
        from capacity.forecast.driver import check_measurable

        for scenario in scenarios:
            check_measurable(district, scenario)
    years = max(s.horizon for s in scenarios) - district.base_year + 1
    need = estimate_bytes(district, years, draws, len(scenarios))
    have = available_bytes()
    if need > 0.8 * have:
        per_draw = max(1, estimate_bytes(district, years, 1, len(scenarios)) - BASE_BYTES)
        fits = max(0, int((0.8 * have - BASE_BYTES) // per_draw))
        raise InputError.one("--draws", "", "",
                             f"expected at most about {fits:,} draws for {len(scenarios)} scenario(s) of {years} years on "
                             f"{len(district.area_codes)} areas (memory: about {need / 2**30:,.1f} GiB needed, "
                             f"{have / 2**30:,.1f} GiB available), found {draws:,}")
