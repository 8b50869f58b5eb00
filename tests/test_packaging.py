"""One installed import name: every engine folder installs under ``rmeval``, nothing else."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = ("harness", "tasks", "probes", "leaderboard")


def _setuptools() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def test_every_package_folder_installs_under_rmeval_only():
    config = _setuptools()
    assert config["package-dir"] == {"rmeval": "rmeval"} | {f"rmeval.{f}": f for f in FOLDERS}
    found = {"rmeval"} | {
        "rmeval." + ".".join(p.parent.relative_to(ROOT).parts)
        for folder in FOLDERS
        for p in (ROOT / folder).rglob("__init__.py")
    }
    assert set(config["packages"]) == found  # a new subpackage must be listed to be installed
    assert all(p == "rmeval" or p.startswith("rmeval.") for p in config["packages"])


def test_a_users_tasks_module_does_not_shadow_rmeval(tmp_path):
    """An invoke/Celery ``tasks.py`` in the current folder used to be imported instead."""
    (tmp_path / "tasks.py").write_text("raise SystemExit('the user tasks.py was imported')\n")
    (tmp_path / "harness.py").write_text("raise SystemExit('the user harness.py was imported')\n")
    out = subprocess.run(
        [sys.executable, "-m", "rmeval", "validate", "--tasks", "core-pairwise", "--limit", "3"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "core-pairwise: 3 examples OK" in out.stdout
    version = subprocess.run(
        [sys.executable, "-c", "import rmeval; print(rmeval.__version__)"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert version.stdout.strip() == _version()


def _version() -> str:
    from importlib.metadata import version

    return version("rmeval")


def test_the_wheel_holds_only_rmeval(tmp_path):
    """``pip install .`` puts only ``rmeval`` (and its dist-info) into site-packages."""
    import zipfile

    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation"]
        + ["-w", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("rmeval-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert {n.split("/")[0] for n in names} == {"rmeval", f"rmeval-{_version()}.dist-info"}
    for needed in ("rmeval/__main__.py", "rmeval/harness/cli.py", "rmeval/tasks/core/suite.py"):
        assert needed in names
    assert "rmeval/leaderboard/metadata.yaml" in names
    assert "rmeval/leaderboard/templates/index.html" in names
    for name in ("pointwise", "pointwise_no_reference", "pairwise", "choice", "rating"):
        assert f"rmeval/harness/adapters/judge_templates/{name}.txt" in names
    entry_points = zipfile.ZipFile(wheel).read(f"rmeval-{_version()}.dist-info/entry_points.txt")
    assert b"rmeval = rmeval.cli:main" in entry_points
    assert b"core = rmeval.tasks.core:core_suite" in entry_points


def test_board_builds_from_another_folder(tmp_path):
    """Outside the repository the folders are only ``rmeval.*`` (a bare ``leaderboard`` template
    loader passed every in-repo test and failed for users)."""
    out = subprocess.run(
        [sys.executable, "-m", "rmeval", "board", "--results", str(ROOT / "results")]
        + ["--out", str(tmp_path / "site")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "<table" in (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
