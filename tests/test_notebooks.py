"""The analyst notebooks in ``notebooks/`` keep working.

* every notebook is stored without outputs (so diffs stay readable and no stale number is
  ever committed);
* every notebook runs from top to bottom in a fresh ``python3`` kernel, with the working
  directory ``notebooks/`` (as when an analyst opens it), ``CAPACITY_NB_DRAWS=20`` (few
  Monte Carlo draws, to be fast), and ``CAPACITY_REPORT_DIR`` and ``TMPDIR`` in pytest's
  temporary folder (so nothing is written into the repository or left behind). A cell that raises fails the test and names
  the cell.

The execution tests need the ``notebooks`` extra (nbclient, nbformat, ipykernel); without
it they are skipped. Deselect them with ``-k "not executes"``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
EXPECTED = (
    "01_quick_start.ipynb",
    "02_scenarios.ipynb",
    "03_uncertainty.ipynb",
    "04_report_figures.ipynb",
    "05_bring_your_own_district.ipynb",
)
CELL_TIMEOUT = 300  # seconds per cell
CI_DRAWS = "20"


def test_the_notebooks_are_there() -> None:
    assert tuple(p.name for p in NOTEBOOKS) == EXPECTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_stored_without_outputs(path: Path) -> None:
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["metadata"]["kernelspec"]["name"] == "python3"
    for i, cell in enumerate(doc["cells"]):
        if cell["cell_type"] != "code":
            continue
        assert cell.get("outputs") == [], f"{path.name}, cell {i}: outputs stored; clear them before committing"
        assert cell.get("execution_count") is None, f"{path.name}, cell {i}: execution count stored"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_has_no_machine_specific_path(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    for marker in ("/home/", "/Users/", "C:\\\\", "/work/", "/tmp/"):
        assert marker not in text, f"{path.name} contains the machine-specific path {marker!r}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_executes(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    from nbclient.exceptions import CellExecutionError

    # the kernel inherits the environment of this process
    monkeypatch.setenv("CAPACITY_NB_DRAWS", CI_DRAWS)
    monkeypatch.setenv("CAPACITY_REPORT_DIR", str(tmp_path / "report"))
    (tmp_path / "tmp").mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))  # the notebooks' temporary folders, cleaned by pytest
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")  # jupyter_core's path-migration warning
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK_DIR)}},
    )
    try:
        client.execute()
    except CellExecutionError as exc:
        pytest.fail(f"{path.name}: a cell failed\n{exc}", pytrace=False)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors, f"{path.name}: {errors[0]['ename']}: {errors[0]['evalue']}"
