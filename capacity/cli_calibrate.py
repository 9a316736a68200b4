"""``capacity calibrate``: fit a district to its ``observed.csv`` and write the calibrated district (thin: parse, call, print)."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["cmd_calibrate", "register"]


def cmd_calibrate(args: argparse.Namespace) -> int:
    """Fit, write the calibrated folder and its fit report, print the parameters and the verdict."""
    from capacity.api import default_scenario_path
    from capacity.calibrate import calibrate
    from capacity.scenario import load_scenario

    reference = load_scenario(args.scenario or default_scenario_path())
    result, folder = calibrate(args.district, args.out, reference)
    print(result.parameters.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    used = result.residuals[result.residuals["used"] == "yes"]
    print(f"\n{len(used)} observations used, {len(result.residuals) - len(used)} not used (by sex or age, or places after the base year)")
    print(result.status)
    print(f"wrote {folder}/ (the calibrated district, calibrated.toml, fit_parameters.csv, fit_residuals.csv, fit.png, fit_summary.txt)")
    return 0


def register(subparsers: Any) -> None:
    """Add ``calibrate`` to the ``capacity`` parser's subcommands."""
    p = subparsers.add_parser(
        "calibrate", help="fit migration, fertility, enrolment rates and places to observed.csv",
        description="Fit the level and trend of net migration to population totals, fertility per year to births, "
        "enrolment rates to enrolment and intake, and base-year places to places (weighted least squares), and write "
        "a calibrated district folder with its fit report and calibrated.toml (the fitted paths and their uncertainty).")
    p.add_argument("district", nargs="?", default=None, metavar="DISTRICT", help="district folder (default: the embedded one)")
    p.add_argument("--out", required=True, metavar="DIR", help="the calibrated district folder to write")
    p.add_argument("--scenario", default=None, metavar="SCENARIO",
                   help="reference scenario whose fertility and migration paths are the starting point (default: baseline)")
    p.set_defaults(func=cmd_calibrate)
