"""Schemathesis over /api/v1/openapi.json: no server error, no answer off the schema.

Runs in-process against the WSGI app with an administrator's bearer token. Each case
gets a fresh token for an active admin (created if an earlier case deleted or demoted
every admin), so revoking tokens or deleting users does not end the run early.
Each operation is driven through its Hypothesis strategy (positive and negative
data) rather than ``schema.parametrize()``, whose lazy loader fails under pytest 9.
Derandomized: the same cases every run.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import select

from orchestrator.actor import Actor
from orchestrator.users import tokens
from orchestrator.users.models import AdminUser
from orchestrator.users.passwords import DUMMY_HASH
from tests.api.conftest import Api

# Per operation and mode. About 90 operations x 2 modes: a few minutes on 2 cores.
MAX_EXAMPLES = 10
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


def admin_token(api: Api) -> str:
    with api.sessions.begin() as session:
        admin = session.scalar(select(AdminUser).where(
            AdminUser.role == "admin", AdminUser.active.is_(True)).limit(1))
        if admin is None:
            admin = AdminUser(username="fuzz-admin-rescue", password_hash=DUMMY_HASH,
                              role="admin", active=True)
            session.add(admin)
            session.flush()
        actor = Actor(admin.id, admin.username, admin.role)
        _, clear = tokens.create_token(session, admin, actor=actor)
    return clear


@pytest.mark.timeout(900)
def test_api_conforms_to_its_schema(api: Api) -> None:
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", api.app)
    operations = [result.ok() for result in schema.get_all_operations()]
    labels = {op.label for op in operations}
    assert {"POST /api/v1/tokens", "GET /api/v1/users", "PATCH /api/v1/users/{user_id}",
            "GET /api/v1/audit"} <= labels
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _run(api, operation, mode)


def _run(api: Api, operation: Any, mode: GenerationMode) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    def check(case: Any) -> None:
        headers = {"Authorization": f"Bearer {admin_token(api)}"}
        case.call_and_validate(headers=headers, checks=CHECKS)

    check()
