"""The web admin + API app on a private SQLite database, driven through its WSGI app.

A database with three users (admin, operator, viewer) is migrated once per session
and copied for each test, so every test starts from the same state quickly.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from apiflask import APIFlask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from orchestrator.actor import Actor
from orchestrator.db import make_engine, migrate, session_factory
from orchestrator.users import tokens
from orchestrator.users.models import AdminUser
from orchestrator.users.service import create_user
from tests.support.dataplane import test_settings
from webui import create_app

PASSWORD = "correct horse battery staple"
USERS = {"alice": "admin", "oscar": "operator", "vera": "viewer"}


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("api-template") / "orchestrator.db"
    url = f"sqlite:///{path}"
    migrate.upgrade(url)
    engine = make_engine(url)
    with session_factory(engine).begin() as session:
        for username, role in USERS.items():
            create_user(session, username, PASSWORD, role)
    engine.dispose()
    return path


@dataclass
class Api:
    """The app under test, its database, and bearer headers per user."""

    app: APIFlask
    client: FlaskClient
    sessions: sessionmaker[Session]
    _headers: dict[str, dict[str, str]] = field(default_factory=dict)

    def token(self, username: str, **kwargs: Any) -> str:
        with self.sessions.begin() as session:
            user = session.query(AdminUser).filter_by(username=username).one()
            actor = Actor(user.id, user.username, user.role)
            _, clear = tokens.create_token(session, user, actor=actor, **kwargs)
        return clear

    def auth(self, username: str = "alice") -> dict[str, str]:
        if username not in self._headers:
            self._headers[username] = {"Authorization": f"Bearer {self.token(username)}"}
        return self._headers[username]

    def wait_job(self, job_id: int, timeout: float = 30) -> dict[str, Any]:
        """The job as the API shows it once done or failed (or at the timeout)."""
        deadline = time.monotonic() + timeout
        while True:
            job: dict[str, Any] = self.client.get(f"/api/v1/jobs/{job_id}",
                                                  headers=self.auth("vera")).get_json()
            if job["state"] in ("done", "failed") or time.monotonic() > deadline:
                return job
            time.sleep(0.05)

    def user_id(self, username: str) -> int:
        with self.sessions() as session:
            return session.query(AdminUser).filter_by(username=username).one().id


@pytest.fixture
def api(template_db: Path, tmp_path: Path) -> Iterator[Api]:
    settings = test_settings(tmp_path)
    settings.ensure_dirs()
    shutil.copy(template_db, tmp_path / "orchestrator.db")
    app = create_app(settings)
    engine = make_engine(settings.db_url)
    yield Api(app, app.test_client(), session_factory(engine))
    engine.dispose()
    app.extensions["webui"].engine.dispose()
