"""The portal password: encrypted in the row, never in views nor the audit log."""

from __future__ import annotations

import json

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from orchestrator import secrets
from orchestrator.audit.models import AuditEntry
from orchestrator.carriers import service
from orchestrator.carriers.schemas import CarrierCreate, CarrierUpdate
from orchestrator.errors import PermissionDenied
from tests.unit.carriers.conftest import ADMIN, VIEWER

CLEAR = "S3cret-portal-pw"


def raw_column(session: Session, carrier_id: int) -> str:
    value = session.execute(text("SELECT portal_password_encrypted FROM carriers "
                                 "WHERE id = :id"), {"id": carrier_id}).scalar_one()
    assert isinstance(value, str)
    return value


def audit_text(session: Session) -> str:
    return json.dumps([[e.summary, e.before, e.after]
                       for e in session.scalars(select(AuditEntry))])


def test_encrypted_at_rest_and_decrypts_back(session: Session, key: str) -> None:
    carrier = service.create_carrier(session, ADMIN, CarrierCreate(
        name="Acme", currency="USD", portal_username="ops", portal_password=CLEAR))
    session.commit()
    stored = raw_column(session, carrier.id)
    assert stored and CLEAR not in stored
    assert secrets.decrypt(stored, key=key) == CLEAR
    assert service.reveal_portal_password(session, ADMIN, carrier.id) == CLEAR
    with pytest.raises(PermissionDenied):
        service.reveal_portal_password(session, VIEWER, carrier.id)


def test_never_in_the_view_nor_the_audit_log(session: Session) -> None:
    carrier = service.create_carrier(session, ADMIN, CarrierCreate(
        name="Acme", currency="USD", portal_password=CLEAR))
    service.update_carrier(session, ADMIN, carrier.id,
                           CarrierUpdate(portal_password="N3w-portal-pw"))
    service.reveal_portal_password(session, ADMIN, carrier.id)
    service.delete_carrier(session, ADMIN, carrier.id)
    session.flush()
    view = json.dumps(service.to_dict(carrier, children=True))
    log = audit_text(session)
    for secret in (CLEAR, "N3w-portal-pw", carrier.portal_password_encrypted,
                   carrier.portal_password_encrypted[:20]):
        assert secret not in view and secret not in log
    assert "portal_password_encrypted" not in view
    actions = [e.action for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert actions == ["create", "update", "reveal", "delete"]


def test_none_keeps_empty_clears_value_replaces(session: Session, key: str) -> None:
    carrier = service.create_carrier(session, ADMIN, CarrierCreate(
        name="Acme", currency="USD", portal_password=CLEAR))
    assert service.to_dict(carrier)["portal_password_set"] is True
    service.update_carrier(session, ADMIN, carrier.id, CarrierUpdate(city="Leeds"))
    assert secrets.decrypt(raw_column(session, carrier.id), key=key) == CLEAR
    service.update_carrier(session, ADMIN, carrier.id, CarrierUpdate(portal_password="other"))
    session.flush()
    assert secrets.decrypt(raw_column(session, carrier.id), key=key) == "other"
    change = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert change is not None and change.after == {"portal_password_changed": True}
    service.update_carrier(session, ADMIN, carrier.id, CarrierUpdate(portal_password=""))
    session.flush()
    assert raw_column(session, carrier.id) == ""
    assert service.to_dict(carrier)["portal_password_set"] is False


def test_wrong_key_is_a_clear_error(session: Session,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    carrier = service.create_carrier(session, ADMIN, CarrierCreate(
        name="Acme", currency="USD", portal_password=CLEAR))
    monkeypatch.setenv("ORCHESTRATOR_ENCRYPTION_KEY", Fernet.generate_key().decode())
    with pytest.raises(secrets.SecretKeyError, match="another key") as info:
        service.reveal_portal_password(session, ADMIN, carrier.id)
    assert CLEAR not in str(info.value)
    # Everything that does not need the clear text keeps working.
    assert service.to_dict(carrier)["portal_password_set"] is True
    service.update_carrier(session, ADMIN, carrier.id, CarrierUpdate(cps=5))


def test_malformed_key_refuses_to_store(session: Session,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORCHESTRATOR_ENCRYPTION_KEY", "short")
    with pytest.raises(secrets.SecretKeyError, match="not a valid Fernet key"):
        service.create_carrier(session, ADMIN, CarrierCreate(
            name="Acme", currency="USD", portal_password=CLEAR))
    # No password, no key needed.
    service.create_carrier(session, ADMIN, CarrierCreate(name="Plain", currency="USD"))
