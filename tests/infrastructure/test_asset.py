"""What the Lambda code asset carries of the project (the wheels need PyPI: `make build`)."""

from __future__ import annotations

from pathlib import Path

from cdk_app.build import ROOT, copy_project


def test_the_asset_carries_the_web_page_and_the_asl_but_no_caches(tmp_path: Path) -> None:
    copy_project(tmp_path)
    for data in (
        "api/web/index.html",
        "api/web/static/app.js",
        "api/web/static/app.css",
        "state_machine/question_workflow.asl.json",
    ):
        assert (tmp_path / data).read_bytes() == (ROOT / data).read_bytes(), data
    assert (tmp_path / "handlers" / "__init__.py").is_file()
    assert not list(tmp_path.rglob("__pycache__"))
    assert not (tmp_path / "tests").exists()
    assert not (tmp_path / "local").exists()
