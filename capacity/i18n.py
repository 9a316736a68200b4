"""The words of the outputs in English and Chinese: one message catalogue.

Every title, legend, column header, note and printed message of the maps, charts, report,
exports and the command line's summaries is looked up here by key, in the language in
force (:func:`use`, a context variable, so figures drawn for one language never leak into
another). Numbers are put in with :meth:`str.format` fields (``{year}``, ``{n:,.0f}``).

Names come from the data, not from this table: a street's ``name_zh``/``name_en``
(areas), a project's ``name_zh``/``name_en`` (projects.csv), the district's
``name_zh``/``name``. Stages: in English the stage's ``label`` (stages.csv); in Chinese the
catalogue's ``stage.<name>`` if the stage is one of the usual four, else the label.

The language: ``--lang`` (or ``lang=``), else the district's default (an optional
``language = "zh"`` in ``district.toml``, :func:`district_language`), else English.
"""

from __future__ import annotations

import contextlib
import tomllib
from collections.abc import Iterator
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from capacity.io.district import District

#: Languages of the outputs.
LANGUAGES: tuple[str, ...] = ("en", "zh")
DEFAULT = "en"

_current: ContextVar[str] = ContextVar("capacity_language", default=DEFAULT)

EN: dict[str, str] = {
    # common
    "places": "places",
    "demand": "demand",
    "gap": "gap",
    "shortfall": "shortfall",
    "surplus": "surplus",
    "scenario": "scenario",
    "stage": "stage",
    "year": "year",
    "street": "street",
    "district": "district",
    "scenario_q": "scenario '{name}'",
    "mean_of_draws": "mean of {n} draws",
    "n_draws": "{n} draws",
    "deterministic": "deterministic run",
    "data_note": ("Data note: the base data are estimates (street boundaries, population, migration, existing "
                  "places, project sites and opening years); see sources.csv."),
    "district_of": "{name} district",
    # maps
    "gap_units": "Gap (places; negative = shortfall)",
    "p_label": "probability of a shortfall (share of draws)",
    "map.places": "{n:,} places",
    "map.open_by": "open by {year}",
    "map.open": "open",
    "map.later": "opening later",
    "map.projects": "Construction projects (number under a circle: opening year)",
    "map.gap_title": "{stage}: places minus demand per street, {year}",
    "map.gap_sub": ("{district}, {scenario}{draws}. District total: shortfall {short:,.0f} places in the streets "
                    "short, surplus {surplus:,.0f} in the others (no offsetting between streets)."),
    "map.p_title": "{stage}: probability of a shortfall per street, {year}",
    "map.gap_title_district": "{stage}: places short in the streets of each district (summed, no offsetting), {year}",
    "map.p_title_district": "{stage}: probability of a shortfall in a street of each district, {year}",
    "map.p_sub": ("{district}, {scenario}, share of {n} draws (seed {seed}) in which demand exceeds places "
                  "(by more than half a child)"),
    "map.multi_gap": "Places minus demand",
    "map.multi_p": "Probability of a shortfall",
    "map.by_stage": "{what} per street by stage, {year}",
    "map.over_years": "{what} per street: {stage}, {years}",
    "map.circles": ". Circles: construction projects sized by places, opening year underneath (filled = open, hollow = later).",
    "map.scale_note": "Each map has its own colour scale, centred on zero.",
    # charts
    "ch.band_demand": "demand P10-P90 of draws",
    "ch.band_places": "places P10-P90 of draws",
    "ch.short_net": "shortfall (net)",
    "ch.demand_mean": "demand (mean)",
    "ch.places_mean": "places (mean)",
    "ch.target": "plan target: {year} places + stated need",
    "ch.target_note": "+{need:,.0f} by {year}",
    "ch.axis": "children / places",
    "ch.dvp_title": "Demand and places, {name}",
    "ch.dvp_sub": "{scenario}, {how}. Places: base-year places plus the construction projects as they open (steps).",
    "ch.dvp_how_draws": "mean of {n} draws with the P10-P90 band",
    "ch.net_note": "District totals: the shaded shortfall is net (surpluses of some streets offset shortfalls of others).",
    "ch.sched_title": "Construction schedule: opening against need",
    "ch.sched_sub": ("{district}, {scenario}{draws}.\nA project is late when its street's places are needed before "
                     "it opens (status on the right); a phased project's bar darkens as its phases open."),
    "ch.sched_draws": ", {n} draws (median opening year; delays and cancellations drawn)",
    "ch.school_year": "school year (September)",
    "ch.open_stage": "open ({stage})",
    "ch.opening_median": "opening year (median)",
    "ch.first_needed": "places first needed",
    "ch.opening_band": "opening P10-P90 (delays)",
    "ch.late_y": "late {n} y",
    "ch.p_late": "P(late) {p:.0%}",
    "ch.p_cancelled": "P(cancelled) {p:.0%}",
    "status.on time": "on time",
    "status.late": "late",
    "status.early": "early",
    "status.not needed": "not needed",
    "status.unaddressed": "unaddressed",
    "ch.pc_title": "The plan against the projection, {year}",
    "ch.pc_sub": "{district}, {scenario}{draws}.",
    "ch.pc_draws": ", mean of {n} draws (error bars: P10-P90)",
    "ch.pc_need": "Plan's stated need (new places by {year})",
    "ch.pc_appendix": "Places of the plan's projects (appendix)",
    "ch.pc_projected": "Projected need: demand {year} \u2212 places {base}",
    "ch.pc_gap": "Gap left in {year}: places \u2212 demand (negative = shortfall)",
    "ch.pc_negative": "Below zero: fewer children in {year} than places in {base}; no new places needed overall.",
    # report
    "rep.title": "School places in {district}: projection against the plan",
    "rep.sub": "capacity {version}; {first}-{last}; {how}; {streets} streets; {n} scenario(s)",
    "rep.how_draws": "{n} Monte Carlo draws, seed {seed}",
    "rep.findings": "Findings",
    "rep.no_short": "{stage}: no street falls short in {year}; the smallest margin is {margin:,.0f} places ({street}).",
    "rep.short": ("{stage}: {k} of {n} streets fall short in {year}, {short:,.0f} places in all; most in {street} "
                  "({worst:,.0f}). The district first falls short in {first}."),
    "rep.short_never_total": ("{stage}: {k} of {n} streets fall short in {year}, {short:,.0f} places in all; most in "
                              "{street} ({worst:,.0f}); the district as a whole has enough places."),
    "rep.prob": " Probability of a shortfall somewhere in the district: {p:.0%}.",
    "rep.projects": " The plan's projects add {added:,.0f} places by {year}; without them the shortfall would be {without:,.0f}.",
    "rep.plan_need": " The plan states a need of {need:,.0f} new places by {year}; the projection's is {projected:,.0f}.",
    "rep.scenarios": "Scenarios",
    "rep.compare": "Scenarios compared, {year}",
    "rep.compare_sub": "Shortfall summed over the streets that fall short (places), per stage and scenario",
    "rep.assumptions": "Assumptions: {scenario}",
    "rep.provenance": "Data provenance",
    "rep.observed": "Check against observations",
    "rep.observed_sub": "observed.csv beside the projection (observed_check.csv)",
    "rep.obs_scenario": "scenario",
    "rep.obs_what": "indicator",
    "rep.obs_area": "area",
    "rep.obs_year": "year",
    "rep.obs_observed": "observed",
    "rep.obs_projected": "projected",
    "rep.obs_difference": "difference",
    "rep.prov_sub": "{district}: what the inputs are and where they come from",
    "rep.setting": "setting",
    "rep.value": "value",
    "rep.file": "file",
    "rep.column": "column",
    "rep.kind": "kind",
    "rep.source": "source",
    "rep.estimate": "estimate",
    "rep.published": "published",
    "rep.estimates": "Inputs that are estimates ({n}): {names}",
    "rep.attribution": "Map attribution: {text}",
    "rep.run": "capacity {version}; seed {seed}; draws {draws}; inputs' SHA-256 in meta.json",
    "rep.notes": ("Plan's need: new places the plan says are needed by the target year. Projected need: demand in "
                  "the target year minus places in the base year (negative: fewer children than places). Gap: places "
                  "minus demand, district total; shortfall (streets): sum of the streets' shortfalls."),
    # table headers
    "col.scenario": "scenario",
    "col.stage": "stage",
    "col.target_year": "target year",
    "col.plan_need": "plan's need",
    "col.appendix_places": "planned places",
    "col.projected_need": "projected need",
    "col.projected_need_p10": "need P10",
    "col.projected_need_p90": "need P90",
    "col.gap_after_projects": "gap after projects",
    "col.shortfall_after_projects": "shortfall (streets)",
    "col.peak_demand_year": "peak year",
    "col.peak_demand": "peak demand",
    "col.p_shortfall_target_year": "P(shortfall) target year",
    "col.year": "year",
    "col.area_code": "area code",
    "col.area_name": "area",
    "col.demand": "demand",
    "col.places": "places",
    "col.gap": "gap",
    "col.shortfall": "shortfall",
    "col.surplus": "surplus",
    "col.p_shortfall": "P(shortfall)",
    "col.surplus_after_projects": "surplus (streets)",
    "col.demand_horizon": "demand, horizon",
    "col.places_horizon": "places, horizon",
    "col.shortfall_horizon": "shortfall (streets), horizon",
    "col.surplus_horizon": "surplus (streets), horizon",
    "col.demand_public": "demand for public places",
    "col.places_public": "public places",
    "col.gap_public": "gap, public",
    "col.level": "level",
    "col.indicator": "indicator",
    "col.value": "value",
    "col.target": "target",
    "col.project_id": "project",
    "col.name_en": "name (English)",
    "col.name_zh": "name (Chinese)",
    "col.ownership": "ownership",
    "col.opening_year": "opening year",
    "col.needed_year": "year first needed",
    "col.status": "status",
    "col.years_late": "years late",
    "col.place_years_short": "place-years short",
    "col.place_years_idle": "place-years idle",
    "col.p_late": "P(late)",
    "col.p_cancelled": "P(cancelled)",
    "col.base": "base",
    "col.d_demand": "\u0394 demand",
    "col.d_places": "\u0394 places",
    "col.d_shortfall": "\u0394 shortfall",
    "col.p_worse": "P(worse)",
    # command line
    "cli.head": "{district} {first}-{last}, {how}, seed {seed}",
    "cli.deterministic": "deterministic",
    "cli.largest": "largest street gaps, {scenario}, {year} (negative = shortfall):",
    "cli.estimates": "note: estimated inputs ({n}): {names}",
    "cli.wrote": "wrote {n} file(s) into {folder}/ in {seconds:.1f} s",
    "cli.wrote_run": "wrote {out}/ ({names})",
    # fonts
    "font.missing": ("expected a font that draws Chinese (the one shipped in capacity/fonts, or set "
                     "CAPACITY_CJK_FONT=/path/to/font.ttf, or apt-get install fonts-noto-cjk), found none for {chars!r}"),
}

ZH: dict[str, str] = {
    "places": "学位",
    "demand": "需求",
    "gap": "缺口",
    "shortfall": "不足",
    "surplus": "富余",
    "scenario": "情景",
    "stage": "学段",
    "year": "年份",
    "street": "街道",
    "district": "全区",
    "scenario_q": "情景“{name}”",
    "mean_of_draws": "{n}次模拟的均值",
    "n_draws": "{n}次模拟",
    "deterministic": "确定性计算",
    "data_note": "数据说明：基础数据为估算（街道边界、人口、迁移、现有学位、项目选址和开办年份），见 sources.csv。",
    "district_of": "{name}",
    "gap_units": "学位余缺（学位数；负数为不足）",
    "p_label": "学位不足的概率（模拟次数占比）",
    "map.places": "{n:,}个学位",
    "map.open_by": "{year}年前开办",
    "map.open": "已开办",
    "map.later": "之后开办",
    "map.projects": "建设项目（圆圈下方数字为开办年份）",
    "map.gap_title": "{stage}：各街道学位数减需求，{year}年",
    "map.gap_sub": "{district}，{scenario}{draws}。全区合计：不足街道共缺{short:,.0f}个学位，其余街道富余{surplus:,.0f}个（街道之间不相互抵消）。",
    "map.p_title": "{stage}：各街道学位不足的概率，{year}年",
    "map.gap_title_district": "{stage}：各区街道学位缺口合计（不相互抵消），{year}年",
    "map.p_title_district": "{stage}：各区有街道学位不足的概率，{year}年",
    "map.p_sub": "{district}，{scenario}，{n}次模拟（随机种子{seed}）中需求超过学位的比例",
    "map.multi_gap": "学位数减需求",
    "map.multi_p": "学位不足的概率",
    "map.by_stage": "{what}：各学段、各街道，{year}年",
    "map.over_years": "{what}：{stage}，各街道，{years}年",
    "map.circles": "。圆圈：建设项目，大小表示学位数，下方为开办年份（实心＝已开办，空心＝之后开办）。",
    "map.scale_note": "每幅图各用一条以零为中心的色标。",
    "ch.band_demand": "需求 P10-P90 区间",
    "ch.band_places": "学位 P10-P90 区间",
    "ch.short_net": "不足（净值）",
    "ch.demand_mean": "需求（均值）",
    "ch.places_mean": "学位（均值）",
    "ch.target": "规划目标：{year}年学位＋规划需新增",
    "ch.target_note": "{year}年前＋{need:,.0f}",
    "ch.axis": "儿童数／学位数",
    "ch.dvp_title": "需求与学位，{name}",
    "ch.dvp_sub": "{scenario}，{how}。学位：基年学位加上陆续开办的建设项目（阶梯）。",
    "ch.dvp_how_draws": "{n}次模拟的均值及 P10-P90 区间",
    "ch.net_note": "全区合计：阴影为净不足（部分街道的富余抵消了其他街道的不足）。",
    "ch.sched_title": "建设进度：开办时间与需求时间",
    "ch.sched_sub": "{district}，{scenario}{draws}。\n若街道在项目开办前已需要学位，则项目为“滞后”（状态见右侧）；分期项目的条形随各期开办逐步加深。",
    "ch.sched_draws": "，{n}次模拟（开办年份取中位数；延期与取消为随机抽样）",
    "ch.school_year": "学年（九月入学）",
    "ch.open_stage": "已开办（{stage}）",
    "ch.opening_median": "开办年份（中位数）",
    "ch.first_needed": "首次需要学位的年份",
    "ch.opening_band": "开办年份 P10-P90（延期）",
    "ch.late_y": "滞后{n}年",
    "ch.p_late": "滞后概率 {p:.0%}",
    "ch.p_cancelled": "取消概率 {p:.0%}",
    "status.on time": "按时",
    "status.late": "滞后",
    "status.early": "提前",
    "status.not needed": "暂不需要",
    "status.unaddressed": "未解决",
    "ch.pc_title": "规划与预测对比，{year}年",
    "ch.pc_sub": "{district}，{scenario}{draws}。",
    "ch.pc_draws": "，{n}次模拟的均值（误差线：P10-P90）",
    "ch.pc_need": "规划需新增学位（至{year}年）",
    "ch.pc_appendix": "规划项目学位（附表）",
    "ch.pc_projected": "预测需新增：{year}年需求－{base}年学位",
    "ch.pc_gap": "{year}年剩余缺口：学位－需求（负数为不足）",
    "ch.pc_negative": "低于零：{year}年儿童数少于{base}年的学位数，全区总体无需新增学位。",
    "rep.title": "{district}学位供需：预测与规划对比",
    "rep.sub": "capacity {version}；{first}-{last}年；{how}；{streets}个街道；{n}个情景",
    "rep.how_draws": "{n}次蒙特卡洛模拟，随机种子{seed}",
    "rep.findings": "主要结论",
    "rep.no_short": "{stage}：{year}年无街道学位不足；余量最小的是{street}（{margin:,.0f}个学位）。",
    "rep.short": "{stage}：{year}年{n}个街道中有{k}个学位不足，共缺{short:,.0f}个；缺口最大的是{street}（{worst:,.0f}个）。全区自{first}年起总量不足。",
    "rep.short_never_total": "{stage}：{year}年{n}个街道中有{k}个学位不足，共缺{short:,.0f}个；缺口最大的是{street}（{worst:,.0f}个）；全区总量足够。",
    "rep.prob": "全区出现学位不足的概率：{p:.0%}。",
    "rep.projects": "规划项目至{year}年新增{added:,.0f}个学位；若无这些项目，不足将为{without:,.0f}个。",
    "rep.plan_need": "规划提出至{year}年需新增{need:,.0f}个学位；预测为{projected:,.0f}个。",
    "rep.scenarios": "情景",
    "rep.compare": "情景对比，{year}年",
    "rep.compare_sub": "各学段、各情景中学位不足街道的缺口合计（学位数）",
    "rep.assumptions": "假设：{scenario}",
    "rep.provenance": "数据来源",
    "rep.observed": "与观测值对照",
    "rep.observed_sub": "observed.csv 与预测值并列（observed_check.csv）",
    "rep.obs_scenario": "情景",
    "rep.obs_what": "指标",
    "rep.obs_area": "地区",
    "rep.obs_year": "年份",
    "rep.obs_observed": "观测值",
    "rep.obs_projected": "预测值",
    "rep.obs_difference": "差异",
    "rep.prov_sub": "{district}：输入数据是什么、从何而来",
    "rep.setting": "设置",
    "rep.value": "取值",
    "rep.file": "文件",
    "rep.column": "字段",
    "rep.kind": "类别",
    "rep.source": "来源",
    "rep.estimate": "估算",
    "rep.published": "公开数据",
    "rep.estimates": "估算的输入（{n}项）：{names}",
    "rep.attribution": "地图来源：{text}",
    "rep.run": "capacity {version}；随机种子{seed}；模拟次数{draws}；输入文件的 SHA-256 见 meta.json",
    "rep.notes": "规划需新增：规划提出至目标年需新增的学位。预测需新增：目标年需求减基年学位（负数表示儿童少于学位）。缺口：学位减需求，全区合计；不足（街道）：各街道不足之和。",
    "col.scenario": "情景",
    "col.stage": "学段",
    "col.target_year": "目标年",
    "col.plan_need": "规划需新增",
    "col.appendix_places": "规划项目学位",
    "col.projected_need": "预测需新增",
    "col.projected_need_p10": "需新增 P10",
    "col.projected_need_p90": "需新增 P90",
    "col.gap_after_projects": "项目建成后缺口",
    "col.shortfall_after_projects": "不足（街道合计）",
    "col.peak_demand_year": "需求峰值年",
    "col.peak_demand": "需求峰值",
    "col.p_shortfall_target_year": "目标年不足概率",
    "col.year": "年份",
    "col.area_code": "区划代码",
    "col.area_name": "街道",
    "col.demand": "需求",
    "col.places": "学位",
    "col.gap": "缺口",
    "col.shortfall": "不足",
    "col.surplus": "富余",
    "col.p_shortfall": "不足概率",
    "col.surplus_after_projects": "富余（街道合计）",
    "col.demand_horizon": "需求（期末）",
    "col.places_horizon": "学位（期末）",
    "col.shortfall_horizon": "不足（街道合计，期末）",
    "col.surplus_horizon": "富余（街道合计，期末）",
    "col.demand_public": "公办学位需求",
    "col.places_public": "公办学位",
    "col.gap_public": "公办缺口",
    "col.level": "层级",
    "col.indicator": "指标",
    "col.value": "数值",
    "col.target": "目标",
    "col.project_id": "项目",
    "col.name_en": "名称（英文）",
    "col.name_zh": "名称（中文）",
    "col.ownership": "办学性质",
    "col.opening_year": "开办年份",
    "col.needed_year": "首次需要年份",
    "col.status": "状态",
    "col.years_late": "滞后年数",
    "col.place_years_short": "缺位学年数",
    "col.place_years_idle": "闲置学位年数",
    "col.p_late": "滞后概率",
    "col.p_cancelled": "取消概率",
    "col.base": "基准情景",
    "col.d_demand": "需求变化",
    "col.d_places": "学位变化",
    "col.d_shortfall": "不足变化",
    "col.p_worse": "更差的概率",
    "cli.head": "{district} {first}-{last}年，{how}，随机种子{seed}",
    "cli.deterministic": "确定性计算",
    "cli.largest": "街道缺口最大者，{scenario}，{year}年（负数为不足）：",
    "cli.estimates": "注意：估算的输入（{n}项）：{names}",
    "cli.wrote": "已写入{n}个文件到 {folder}/，用时{seconds:.1f}秒",
    "cli.wrote_run": "已写入 {out}/（{names}）",
    "font.missing": ("expected a font that draws Chinese (the one shipped in capacity/fonts, or set "
                     "CAPACITY_CJK_FONT=/path/to/font.ttf, or apt-get install fonts-noto-cjk), found none for {chars!r}"),
    # stage names of the usual four stages
    "stage.kindergarten": "幼儿园",
    "stage.primary": "小学",
    "stage.junior": "初中",
    "stage.senior": "高中",
}

CATALOGUE: dict[str, dict[str, str]] = {"en": EN, "zh": ZH}


def check_language(lang: str) -> str:
    """``lang`` if it is one of :data:`LANGUAGES`, else ValueError."""
    if lang not in LANGUAGES:
        raise ValueError(f"expected a language {' or '.join(LANGUAGES)}, found {lang!r}")
    return lang


def current() -> str:
    """The language in force."""
    return _current.get()


@contextlib.contextmanager
def use(lang: str | None) -> Iterator[str]:
    """Make ``lang`` the language in force inside the ``with`` block (None: keep the current one)."""
    if lang is None:
        yield current()
        return
    token = _current.set(check_language(lang))
    try:
        yield lang
    finally:
        _current.reset(token)


def tr(key: str, **fields: Any) -> str:
    """The message ``key`` in the language in force, with ``fields`` put in."""
    table = CATALOGUE[current()]
    text = table.get(key)
    if text is None:
        text = EN[key]
    return text.format(**fields) if fields else text


def district_language(district: District) -> str | None:
    """The district's default language: ``language`` in its ``district.toml``, or None."""
    path = getattr(district, "path", None)
    if path is None:
        return None
    settings = path / "district.toml"
    try:
        value = tomllib.loads(settings.read_text(encoding="utf-8")).get("language")
    except (OSError, tomllib.TOMLDecodeError):
        return None
    return str(value) if value in LANGUAGES else None


def resolve(lang: str | None, district: District | None = None) -> str:
    """The language to use: ``lang``, else the district's default, else the one in force."""
    if lang is not None:
        return check_language(lang)
    if district is not None:
        found = district_language(district)
        if found is not None:
            return found
    return current()


def stage_name(label: str, stage: str) -> str:
    """A stage's display name: its label in English; in Chinese ``stage.<stage>`` if known, else the label."""
    if current() == "zh":
        return ZH.get(f"stage.{stage}", label)
    return label


def area_label(name_zh: str, name_en: str, code: str = "") -> str:
    """A street's display name in the language in force (the other language's name if one is empty)."""
    zh, en = str(name_zh or ""), str(name_en or "")
    if current() == "zh":
        return zh or en or code
    return en or zh or code


def column(name: str) -> str:
    """Header of a table column (``col.<name>``), or the column's own name if the catalogue has none."""
    key = f"col.{name}"
    if key in EN:
        return tr(key)
    base, _, q = name.rpartition("_")
    if q in ("p10", "p50", "p90") and f"col.{base}" in EN:
        return f"{tr(f'col.{base}')} {q.upper()}"
    return name


def status(name: str) -> str:
    """A schedule status (``on time``, ``late``, ...) in the language in force."""
    key = f"status.{name}"
    return tr(key) if key in EN else name


__all__ = ["CATALOGUE", "EN", "LANGUAGES", "ZH", "area_label", "check_language", "column", "current",
           "district_language", "resolve", "stage_name", "status", "tr", "use"]
