"""JSON errors everywhere under /api, the OpenAPI document, and the local docs UI."""

from __future__ import annotations

import pytest

from tests.api.conftest import Api


def test_unknown_route_and_wrong_method_are_json(api: Api) -> None:
    missing = api.client.get("/api/v1/nothing-here")
    assert missing.status_code == 404 and missing.is_json
    assert set(missing.json) == {"message", "errors"}
    wrong = api.client.put("/api/v1/tokens", json={})
    assert wrong.status_code == 405 and wrong.is_json
    assert "GET" in wrong.headers["Allow"]
    page = api.client.get("/no-such-page")
    assert page.status_code == 404 and page.mimetype == "text/html"


def test_openapi_lists_the_endpoints_and_not_the_web_pages(api: Api) -> None:
    answer = api.client.get("/api/v1/openapi.json")
    assert answer.status_code == 200
    spec = answer.json
    assert spec["info"]["title"] == "orchestrator"
    paths = spec["paths"]
    assert {"/api/v1/tokens", "/api/v1/tokens/{token_id}", "/api/v1/users",
            "/api/v1/users/{user_id}", "/api/v1/audit"} <= set(paths)
    assert set(paths["/api/v1/users/{user_id}"]) == {"get", "patch", "delete"}
    assert all(p.startswith("/api/v1/") for p in paths), "web pages leaked into the spec"
    assert spec["components"]["securitySchemes"]["BearerAuth"]["scheme"] == "bearer"
    assert paths["/api/v1/users"]["get"]["security"] == [{"BearerAuth": []}]
    assert "security" not in paths["/api/v1/tokens"]["post"]
    assert "422" in paths["/api/v1/users"]["post"]["responses"]


def test_docs_page_uses_local_assets_only(api: Api) -> None:
    page = api.client.get("/api/v1/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "http://" not in html and "https://" not in html
    assert "<script>" not in html  # no inline script: the CSP stays strict
    bundle = api.client.get("/api/v1/docs/assets/swagger-ui-bundle.js")
    assert bundle.status_code == 200 and b"SwaggerUIBundle" in bundle.data
    assert api.client.get("/api/v1/docs/assets/../../x").status_code == 404


def test_an_unexpected_failure_is_a_json_500_without_details(
        api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr("orchestrator.users.service.list_users", boom)
    answer = api.client.get("/api/v1/users", headers=api.auth())
    assert answer.status_code == 500
    assert answer.json == {"message": "Internal server error", "errors": {}}
