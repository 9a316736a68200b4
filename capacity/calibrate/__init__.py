"""Calibration: fit a district's uncertain inputs to what was observed (``observed.csv``).

:func:`~capacity.calibrate.fit.fit` fits migration, fertility, enrolment rates and places by
weighted least squares; :func:`~capacity.calibrate.write.calibrated_files` turns a fit into a
calibrated district folder, with its fit report and a scenario carrying the parameters'
uncertainty as distributions.
"""

from __future__ import annotations

from capacity.calibrate.fit import RELATIVE_SE, Fit, fit
from capacity.calibrate.write import calibrate, calibrated_files

__all__ = ["RELATIVE_SE", "Fit", "calibrate", "calibrated_files", "fit"]
