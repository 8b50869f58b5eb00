"""The README and docs say what the code does: generated tables are current, examples are real."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _table_script():
    spec = importlib.util.spec_from_file_location("model_args_table", ROOT / "scripts" /
                                                  "model_args_table.py")  # fmt: skip
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_model_args_tables_match_the_declared_arguments():
    script = _table_script()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert script.summary_table() in readme
    doc = (ROOT / "docs" / "model-args.md").read_text(encoding="utf-8")
    assert doc == script.full_tables() + "## Summary\n\n" + script.summary_table() + "\n"


def test_readme_compare_example_names_real_result_folders():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    folders = set(re.findall(r"rmeval compare ((?:results/[\w.-]+ ?)+)", readme)[0].split())
    assert folders and all((ROOT / f).is_dir() for f in folders), folders
    for image in re.findall(r"\]\((docs/[\w.-]+\.png)\)", readme):
        assert (ROOT / image).is_file(), image
    assert (ROOT / "docs" / "performance.md").is_file()
