"""``@api_auth`` on a resource written the way customers/carriers will be."""

from __future__ import annotations

from typing import Any

from apiflask import Schema, fields

from orchestrator.api.auth import ApiContext, api_auth
from orchestrator.api.blueprint import resource_blueprint
from tests.api.conftest import Api


class ProbeIn(Schema):
    name = fields.String(required=True)


def _add_probe(api: Api) -> None:
    bp = resource_blueprint("probe", "Probe")

    @bp.post("/probes")
    @api_auth("write")
    @bp.input(ProbeIn, arg_name="body")
    def create_probe(ctx: ApiContext, body: dict[str, Any]) -> tuple[dict[str, Any], int]:
        return {"name": body["name"], "by": ctx.actor.username}, 201

    api.app.extensions["csrf"].exempt(bp)
    api.app.register_blueprint(bp)


def test_write_needs_operator_or_admin_and_auth_comes_before_validation(api: Api) -> None:
    _add_probe(api)
    assert api.client.post("/api/v1/probes", json={}).status_code == 401  # not 422
    viewer = api.client.post("/api/v1/probes", json={"name": "x"}, headers=api.auth("vera"))
    assert viewer.status_code == 403 and "may not write" in viewer.json["message"]
    bad = api.client.post("/api/v1/probes", json={}, headers=api.auth("oscar"))
    assert bad.status_code == 422 and list(bad.json["errors"]) == ["name"]
    ok = api.client.post("/api/v1/probes", json={"name": "x"}, headers=api.auth("oscar"))
    assert ok.status_code == 201 and ok.json == {"name": "x", "by": "oscar"}
    operation = api.client.get("/api/v1/openapi.json").json["paths"]["/api/v1/probes"]["post"]
    assert operation["security"] == [{"BearerAuth": []}]
    assert {"401", "403", "422"} <= set(operation["responses"])
