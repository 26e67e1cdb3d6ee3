"""The web page's files as the API serves them: at ``/`` and under ``/static``, with its headers."""

from __future__ import annotations

import re

import pytest

from api.web import CONTENT_SECURITY_POLICY, WEB
from tests.api.conftest import Api


def test_the_page_is_served_at_the_root_with_a_strict_policy(api: Api) -> None:
    response = api.client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "script-src 'self'" in CONTENT_SECURITY_POLICY
    assert "'unsafe-inline'" not in CONTENT_SECURITY_POLICY
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-cache"
    assert response.text.startswith("<!doctype html>")


def test_head_of_the_page_answers_without_a_body(api: Api) -> None:
    response = api.client.head("/")
    assert response.status_code == 200
    assert response.content == b""


def _module_imports(script: str) -> list[str]:
    return re.findall(r'^import .*?from "\./([^"]+)";', script, flags=re.M | re.S)


def test_every_file_the_page_and_its_modules_reference_is_served(api: Api) -> None:
    page = api.client.get("/").text
    references = set(re.findall(r'(?:src|href)="(static/[^"]+)"', page))
    assert {"static/app.css", "static/app.js"} <= references
    # Native ES modules: follow every import, as the browser does.
    pending = [r for r in references if r.endswith(".js")]
    while pending:
        module = pending.pop()
        folder = module.rpartition("/")[0]
        for imported in _module_imports((WEB / module).read_text(encoding="utf-8")):
            name = f"{folder}/{imported}"
            if name not in references:
                references.add(name)
                pending.append(name)
    assert {
        "static/i18n.js",
        "static/markdown.js",
        "static/vendor/marked/marked.esm.js",
        "static/vendor/dompurify/purify.es.js",
    } <= references
    for reference in sorted(references):
        response = api.client.get(f"/{reference}")
        assert response.status_code == 200, reference
        assert response.content == (WEB / reference).read_bytes()
        assert response.headers["cache-control"] == "no-cache"
        assert response.headers["etag"]
        if reference.endswith(".js"):
            # A module script is refused by the browser unless served as JavaScript.
            assert "javascript" in response.headers["content-type"], reference
    assert api.client.get("/static/app.css").headers["content-type"].startswith("text/css")


def test_an_unchanged_asset_is_revalidated_with_a_304(api: Api) -> None:
    first = api.client.get("/static/app.js")
    again = api.client.get("/static/app.js", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304


@pytest.mark.parametrize(
    "path", ["/static/missing.js", "/static/../__init__.py", "/static/%2e%2e/__init__.py"]
)
def test_nothing_outside_the_assets_is_served(api: Api, path: str) -> None:
    response = api.client.get(path)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_the_page_is_not_in_the_openapi_description(api: Api) -> None:
    paths = api.client.get("/openapi.json").json()["paths"]
    assert "/" not in paths
    assert all(path.startswith("/api/v1/") for path in paths)


def test_the_page_calls_only_routes_the_api_has(api: Api) -> None:
    """Every ``call("METHOD", "path")`` in the page's modules names an operation of the API."""
    script = "\n".join(path.read_text() for path in sorted((WEB / "static").glob("*.js")))
    calls = re.findall(r'call\(\s*"([A-Z]+)",\s*[`"]([^`"?]+)', script)
    assert len(calls) >= 12
    operations = {
        (method.upper(), re.sub(r"\{[^}]+\}", "*", path))
        for path, item in api.client.get("/openapi.json").json()["paths"].items()
        for method in item
    }
    for method, path in calls:
        normalized = "/api/v1/" + re.sub(r"\$\{[^}]+\}", "*", path)
        assert (method, normalized) in operations, (method, path)
