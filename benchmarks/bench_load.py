"""Benchmark: load and validate districts of 18 to 20,000 areas; report 50,000 duplicate rows.

Synthetic districts are built from the embedded Haizhu files in a temporary folder: the
areas repeated under new codes (each copy translated so that no two areas overlap), the
population, migration and places rows repeated per area. Each load runs in a fresh process
so that peak memory (its resident set's high-water mark) belongs to it alone. Prints figures, no
assertions.

    python benchmarks/bench_load.py [--areas 18 200 2000 20000] [--duplicates 50000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

REPO = Path(__file__).resolve().parents[1]
HAIZHU = REPO / "capacity" / "data" / "districts" / "haizhu"
PROJECTS = HAIZHU / "projects.csv"

CHILD = r"""
import json, resource, sys, time
t0 = time.perf_counter()
from capacity.errors import InputError
from capacity.io import load_district
t1 = time.perf_counter()
try:
    d = load_district(sys.argv[1])
    n, problems = len(d.area_codes), 0
except InputError as error:
    n, problems = 0, len(error.problems)
t2 = time.perf_counter()
# VmHWM, not ru_maxrss: the latter keeps the high-water mark of the forked parent across exec
hwm = [line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM")]
peak = int(hwm[0]) / 1024 if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"import": t1 - t0, "load": t2 - t1, "areas": n, "problems": problems, "peak_mib": peak}))
"""


def build(folder: Path, n_areas: int) -> Path:
    """Write a valid district of ``n_areas`` areas, copies of the Haizhu streets, into ``folder``."""
    folder.mkdir(parents=True)
    areas = gpd.read_file(HAIZHU / "areas.geojson")
    width = areas.total_bounds[2] - areas.total_bounds[0] + 0.01
    height = areas.total_bounds[3] - areas.total_bounds[1] + 0.01
    copies = []
    for c in range(-(-n_areas // len(areas))):
        copy = areas.copy()
        copy["geometry"] = shapely.transform(areas.geometry.to_numpy(), lambda xy, c=c: xy + [(c % 100) * width, (c // 100) * height])
        copy["area_code"] = [f"{c:05d}{code}" for code in areas["area_code"]]
        copies.append(copy)
    big = gpd.GeoDataFrame(pd.concat(copies, ignore_index=True), crs=areas.crs).iloc[:n_areas]
    big.to_file(folder / "areas.geojson", driver="GeoJSON")
    codes = pd.DataFrame({"new": big["area_code"], "area_code": big["area_code"].str[5:]})
    for name in ("population.csv", "migration.csv", "places.csv"):
        table = pd.read_csv(HAIZHU / name, dtype=str, keep_default_na=False)
        out = codes.merge(table, on="area_code", sort=False).drop(columns="area_code").rename(columns={"new": "area_code"})
        out[table.columns].to_csv(folder / name, index=False)
    projects = pd.read_csv(PROJECTS, dtype=str, keep_default_na=False)
    projects["area_code"] = "00000" + projects["area_code"]
    projects.to_csv(folder / "projects.csv", index=False)
    for name in ("stages.csv", "fertility.csv", "life_table.csv", "plan.csv"):
        (folder / name).write_bytes((HAIZHU / name).read_bytes())
    sources = (HAIZHU / "sources.csv").read_text(encoding="utf-8").replace("../../projects.csv", "projects.csv")
    (folder / "sources.csv").write_text("".join(line for line in sources.splitlines(keepends=True) if not line.startswith("observed.csv,")),
                                        encoding="utf-8")  # observed.csv (Haizhu's area codes) is not copied
    (folder / "district.toml").write_text((HAIZHU / "district.toml").read_text(encoding="utf-8").replace("../../projects.csv", "projects.csv"),
                                          encoding="utf-8")
    return folder


def measure(folder: Path) -> dict[str, float]:
    proc = subprocess.run([sys.executable, "-c", CHILD, str(folder)], capture_output=True, text=True, check=True, cwd=REPO)
    result: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--areas", type=int, nargs="+", default=[18, 200, 2000, 20000])
    parser.add_argument("--duplicates", type=int, default=50000)
    args = parser.parse_args()
    print(f"{'case':>28} {'population rows':>15} {'load+validate s':>16} {'peak MiB':>9} {'problems':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.areas:
            folder = build(Path(tmp) / f"d{n}", n)
            rows = len((folder / "population.csv").read_text(encoding="utf-8").splitlines()) - 1
            r = measure(folder)
            assert r["areas"] == n, r
            print(f"{f'{n} areas':>28} {rows:>15} {r['load']:>16.2f} {r['peak_mib']:>9.0f} {int(r['problems']):>9}")
        folder = build(Path(tmp) / "dup", 18)
        path = folder / "population.csv"
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        extra = (lines[1:] * (args.duplicates // (len(lines) - 1) + 1))[: args.duplicates]
        path.write_text("".join(lines + extra), encoding="utf-8")
        r = measure(folder)
        print(f"{f'{args.duplicates} duplicate rows':>28} {len(lines) - 1 + len(extra):>15} {r['load']:>16.2f} "
              f"{r['peak_mib']:>9.0f} {int(r['problems']):>9}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
