"""Output files: CSV tables, the NetCDF Dataset, ``meta.json`` (written by :mod:`capacity.atomic`).

CSV files and ``results.nc`` are byte-for-byte reproducible from the same inputs, scenarios
and seed; ``meta.json`` records ``created_utc`` and ``elapsed_seconds`` besides.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import pandas as pd
import xarray as xr

from capacity import __version__
from capacity.io.district import District
from capacity.scenario import Scenario

FLOAT_FORMAT = "%.2f"
FORMATS = ("csv", "netcdf")
"""Output formats: ``csv`` (the tables) and ``netcdf`` (the tables and ``results.nc``)."""

NETCDF_ENGINE: Final = "scipy"
"""NetCDF writer: SciPy's netCDF-3 writer needs nothing beyond SciPy and puts no time stamp,
host or library version into the file, so the same Dataset gives the same bytes (tested)."""


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """A table as CSV bytes in the project's fixed format."""
    return frame.to_csv(index=False, float_format=FLOAT_FORMAT, lineterminator="\n").encode("utf-8")


def netcdf_ready(ds: xr.Dataset) -> xr.Dataset:
    """The Dataset in types netCDF-3 holds: text as fixed-width characters, booleans and int64 as int32.

    Parameters
    ----------
    ds : Dataset

    Returns
    -------
    Dataset
        A copy; :func:`xarray.open_dataset` reads it back with the same values.
    """
    out = ds.copy()
    for name in list(out.variables):
        var = out[name]
        if var.dtype.kind in "OU":
            out[name] = var.astype(str)
        elif var.dtype.kind == "b":
            out[name] = var.astype("int8")
            out[name].attrs["flag"] = "boolean, 1 = true"
        elif var.dtype.kind == "i" and var.dtype.itemsize == 8:
            out[name] = var.astype("int32")
    out.attrs = {k: (v.astype("int32") if hasattr(v, "astype") and getattr(v, "dtype", None) is not None
                     and v.dtype.kind == "i" else v) for k, v in out.attrs.items()}
    return out


def netcdf_bytes(ds: xr.Dataset) -> bytes:
    """The Dataset as netCDF bytes (engine :data:`NETCDF_ENGINE`, deterministic)."""
    data = netcdf_ready(ds).to_netcdf(None, engine=NETCDF_ENGINE, format="NETCDF3_64BIT")
    return bytes(data)


def estimates(district: District) -> list[str]:
    """Inputs that are estimates, as ``file:column`` strings (from ``sources.csv``)."""
    src = district.sources
    flagged = src[src["estimate"].astype(str).str.lower().isin(["yes", "true"])]
    return [f"{f}:{c}" for f, c in zip(flagged["file"], flagged["column"])]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def meta_record(ds: xr.Dataset, district: District, scenarios: Sequence[Scenario], elapsed: float,
                outputs: dict[str, str]) -> dict[str, Any]:
    """What produced the outputs: version, scenarios, seed, draws, input hashes.

    Parameters
    ----------
    ds : Dataset
        The results (its attributes give the version, seed and draws).
    district : District
    scenarios : sequence of Scenario
        The scenarios as run.
    elapsed : float
        Seconds the runs took.
    outputs : dict
        SHA-256 of every output file by name.
    """
    return {
        "capacity_version": str(ds.attrs.get("capacity_version", __version__)),
        "district": {"name": district.name, "code": district.code, "path": district.path.name},
        "inputs_sha256": district.input_hashes(),
        "scenarios": [s.to_dict() for s in scenarios],
        "scenario_files_sha256": {s.name: _sha256(Path(s.source))
                                  for s in scenarios if s.source and Path(s.source).exists()},
        "seed": int(ds.attrs["seed"]),
        "draws": int(ds.attrs["draws"]),
        "estimated_inputs": estimates(district),
        "outputs_sha256": outputs,
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "elapsed_seconds": round(elapsed, 3),
        "note": "CSV outputs are byte-for-byte reproducible from the same inputs, scenario and seed; "
                "created_utc and elapsed_seconds are the only fields that change between runs.",
    }


def output_files(tables: dict[str, pd.DataFrame], meta: Any, ds: xr.Dataset | None = None) -> dict[str, bytes]:
    """Every output file as bytes: ``<name>.csv`` per table, ``results.nc`` if ``ds`` is given, ``meta.json``.

    Parameters
    ----------
    tables : dict of DataFrame
        By table name (``gap``, ``plan_comparison``, ...).
    meta : callable
        ``meta(hashes) -> dict``: the metadata record given the outputs' SHA-256.
    ds : Dataset, optional
        Written as ``results.nc`` (``--format netcdf``).
    """
    files = {f"{name}.csv": csv_bytes(t) for name, t in tables.items()}
    if ds is not None:
        files["results.nc"] = netcdf_bytes(ds)
    hashes = {name: hashlib.sha256(b).hexdigest() for name, b in files.items()}
    record = meta(hashes)
    files["meta.json"] = (json.dumps(record, indent=2, ensure_ascii=False, sort_keys=False) + "\n").encode("utf-8")
    return files


__all__ = ["FLOAT_FORMAT", "FORMATS", "NETCDF_ENGINE", "csv_bytes", "estimates", "meta_record", "netcdf_bytes",
           "netcdf_ready", "output_files"]
