"""The demo notebook runs top to bottom and is stored without outputs."""
import os

import nbformat
import pytest
from nbclient import NotebookClient


def _notebook(source_tree):
    return os.path.join(source_tree, "notebooks", "demo.ipynb")


def test_the_repository_keeps_the_notebook_without_outputs(source_tree):
    notebook = nbformat.read(_notebook(source_tree), as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(not cell.outputs and cell.execution_count is None for cell in code)


def test_the_demo_notebook_runs_without_errors(source_tree, tmp_path):
    notebook = nbformat.read(_notebook(source_tree), as_version=4)
    client = NotebookClient(notebook, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": os.path.join(source_tree, "notebooks")}})
    client.execute()  # raises CellExecutionError, naming the cell, on any error
    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    pictures = [o for o in outputs if o.get("output_type") == "display_data" and "image/png" in o.get("data", {})]
    assert len(pictures) == 5  # samples, redraw, copy, interpolation, loss curve
    text = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    assert "finished after 60 iterations" in text
    nbformat.write(notebook, str(tmp_path / "executed.ipynb"))  # for a look when it fails
