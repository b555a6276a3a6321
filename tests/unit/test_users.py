"""Admin users: slow hash, authentication, first admin, validation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from orchestrator.db import make_engine, session_factory, upgrade
from orchestrator.users import service
from orchestrator.users.models import AdminUser


@pytest.fixture
def session(tmp_path: Path) -> Iterator[Session]:
    url = f"sqlite:///{tmp_path / 'u.db'}"
    upgrade(url)
    engine = make_engine(url)
    with session_factory(engine)() as s:
        yield s
    engine.dispose()


def test_password_is_stored_as_argon2_and_checked(session: Session) -> None:
    user = service.create_user(session, "alice", "correct horse battery", "operator")
    assert user.password_hash.startswith("$argon2id$")
    assert "correct horse" not in user.password_hash
    assert service.authenticate(session, "alice", "correct horse battery") is user
    assert user.last_login_at is not None
    assert service.authenticate(session, "alice", "wrong password!") is None
    assert service.authenticate(session, "bob", "correct horse battery") is None


def test_inactive_user_cannot_sign_in(session: Session) -> None:
    user = service.create_user(session, "carol", "long enough pw")
    user.active = False
    assert service.authenticate(session, "carol", "long enough pw") is None


@pytest.mark.parametrize(
    ("username", "password", "role", "field"),
    [("", "long enough pw", "admin", "username"),
     ("dave", "short", "admin", "password"),
     ("dave", "long enough pw", "root", "role")],
)
def test_bad_input_names_the_field(session: Session, username: str, password: str,
                                   role: str, field: str) -> None:
    with pytest.raises(service.UserError, match=f"^{field}:"):
        service.create_user(session, username, password, role)
    assert session.query(AdminUser).count() == 0


def test_duplicate_username_refused(session: Session) -> None:
    service.create_user(session, "erin", "long enough pw")
    with pytest.raises(service.UserError, match="already exists"):
        service.create_user(session, "erin", "another long pw")


def test_initial_admin_created_once_and_must_change_password(session: Session) -> None:
    password = service.ensure_initial_admin(session)
    assert password is not None and len(password) >= 12
    admin = service.authenticate(session, "admin", password)
    assert admin is not None and admin.role == "admin" and admin.must_change_password
    assert service.ensure_initial_admin(session) is None
    service.set_password(session, "admin", "a brand new password")
    assert not admin.must_change_password
    assert service.authenticate(session, "admin", password) is None


def test_changes_are_audited_and_last_admin_protected(session: Session) -> None:
    from orchestrator.actor import Actor
    from orchestrator.audit.models import AuditEntry
    from orchestrator.errors import Conflict, PermissionDenied

    admin = service.create_user(session, "root", "long enough pw", "admin")
    viewer = service.create_user(session, "vic", "long enough pw", "viewer")
    actor = Actor(admin.id, admin.username, admin.role)
    with pytest.raises(Conflict):
        service.update_user(session, admin.id, actor=actor, active=False)
    with pytest.raises(Conflict):
        service.delete_user(session, admin.id, actor=actor)
    with pytest.raises(PermissionDenied):
        service.delete_user(session, admin.id, actor=Actor(viewer.id, "vic", "viewer"))
    service.update_user(session, viewer.id, actor=actor, role="operator")
    service.delete_user(session, viewer.id, actor=actor)
    actions = [(e.action, e.username, e.object_id)
               for e in session.query(AuditEntry).order_by(AuditEntry.id)]
    assert actions == [("create", "system", admin.id), ("create", "system", viewer.id),
                       ("update", "root", viewer.id), ("delete", "root", viewer.id)]
    page = service.list_users(session, service.ListQuery(q="ROO"))
    assert [u.username for u in page.items] == ["root"] and page.total == 1
