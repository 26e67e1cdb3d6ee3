"""What the Lambda code asset carries of the project (the wheels need PyPI: `make build`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cdk_app.build import ROOT, ROOTS, copy_project, dependencies_of
from core.knowledge import load


def test_the_asset_carries_the_web_page_the_asl_and_the_knowledge_base_but_no_caches(
    tmp_path: Path,
) -> None:
    copy_project(tmp_path)
    # The knowledge base, where the functions look for it: the same entries, the same version.
    shipped = load(tmp_path / "knowledge")
    assert shipped.version == load().version and len(shipped) >= 80
    assert (tmp_path / "core" / "knowledge.py").is_file()
    for data in (
        "api/web/index.html",
        "api/web/static/app.js",
        "api/web/static/app.css",
        "api/web/docs.html",
        "api/web/static/docs.js",
        "api/web/static/vendor/swagger-ui/swagger-ui-bundle.js",
        "api/web/static/vendor/swagger-ui/swagger-ui.css",
        "api/web/static/vendor/marked/marked.esm.js",
        "api/web/static/vendor/dompurify/purify.es.js",
        "api/web/static/i18n.js",
        "api/web/static/markdown.js",
        "state_machine/question_workflow.asl.json",
    ):
        assert (tmp_path / data).read_bytes() == (ROOT / data).read_bytes(), data
    assert (tmp_path / "handlers" / "__init__.py").is_file()
    assert not list(tmp_path.rglob("__pycache__"))
    assert not (tmp_path / "tests").exists()
    assert not (tmp_path / "local").exists()


def test_the_retrieving_function_gets_its_libraries() -> None:
    packages = dependencies_of(ROOTS)
    assert {"bm25s", "numpy", "snowballstemmer"} <= set(packages)


def test_the_build_refuses_to_ship_docs_without_swagger_ui(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="make"):
        copy_project(tmp_path, vendor=tmp_path / "missing")


def test_the_asset_ships_the_pydantic_the_tests_ran_and_the_layer_matches_the_lock() -> None:
    import json

    from cdk_app.build import locked_versions

    packages = dependencies_of(ROOTS)
    # The layer's own pydantic is whatever it was built with; the asset's comes first.
    assert {"pydantic", "pydantic-core", "typing-extensions", "annotated-types"} <= set(packages)
    assert "aws-lambda-powertools" not in packages and "boto3" not in packages
    layer = json.loads((ROOT / "stages/defaults.json").read_text())["powertoolsVersion"]
    assert layer == locked_versions()["aws-lambda-powertools"]
