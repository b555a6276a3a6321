"""Header policy fields on /api/v1/customers and /api/v1/carriers (docs/header-policy.md)."""

from __future__ import annotations

from tests.api.conftest import Api
from tests.api.test_carriers import new_carrier
from tests.api.test_customers import new_customer

DEFAULT = ["Diversion", "History-Info", "Remote-Party-ID"]


def test_customer_defaults_set_and_refused(api: Api) -> None:
    created = new_customer(api)
    assert created["pass_headers"] == DEFAULT and created["pai"] == "accept"
    url = f"/api/v1/customers/{created['id']}"
    changed = api.client.patch(url, headers=api.auth(),
                               json={"pass_headers": "x-acme-*, Diversion", "pai": "require"})
    assert changed.status_code == 200, changed.json
    assert changed.json["pass_headers"] == ["Diversion", "X-acme-*"]
    assert changed.json["pai"] == "require"
    bad = api.client.patch(url, headers=api.auth(),
                           json={"pass_headers": ["X-Ok", "Bad Name:"], "pai": "maybe"})
    assert bad.status_code == 422 and set(bad.json["errors"]) == {"pass_headers", "pai"}
    typed = api.client.patch(url, headers=api.auth(), json={"pass_headers": 7})
    assert typed.status_code == 422 and set(typed.json["errors"]) == {"pass_headers"}
    assert api.client.get(url, headers=api.auth()).json["pass_headers"] == [
        "Diversion", "X-acme-*"]


def test_carrier_defaults_set_and_refused(api: Api) -> None:
    created = new_carrier(api, pass_headers=[], trust_pai=False)
    assert created["pass_headers"] == [] and created["trust_pai"] is False
    url = f"/api/v1/carriers/{created['id']}"
    changed = api.client.patch(url, headers=api.auth(),
                               json={"pass_headers": ["X-*"], "trust_pai": True})
    assert changed.status_code == 200, changed.json
    assert changed.json["pass_headers"] == ["X-*"] and changed.json["trust_pai"] is True
    bad = api.client.patch(url, headers=api.auth(), json={"pass_headers": "P-Charge-Info"})
    assert bad.status_code == 422
    assert "is not filtered by the switch" in bad.json["errors"]["pass_headers"][0]
    plain = new_carrier(api, name="Plain Telecom")
    assert plain["pass_headers"] == DEFAULT and plain["trust_pai"] is True
