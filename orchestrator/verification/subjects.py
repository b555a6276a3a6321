"""Who is verified: a customer, or an operator's own account (``admin_users``).

Both carry ``email``, ``mobile``, ``email_verified`` and ``mobile_verified``. A
customer's contact details are verified by anyone who may change customers (role
``write``); an account's only by its own user, whatever the role.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from orchestrator.actor import Actor
from orchestrator.customers.models import Customer
from orchestrator.customers.service import load_customer
from orchestrator.errors import NotFound, PermissionDenied, ValidationFailed
from orchestrator.users.models import AdminUser
from orchestrator.verification.models import CHANNELS, SUBJECTS

Holder = Customer | AdminUser
LABELS = {"email": "email address", "mobile": "mobile number"}
AUDIT_TYPES = {"customer": "customer", "user": "admin_user"}


@dataclass(frozen=True)
class Subject:
    kind: str  # customer | user
    id: int

    def __post_init__(self) -> None:
        if self.kind not in SUBJECTS:
            raise ValueError(f"subject kind must be one of {SUBJECTS}")

    @property
    def audit_type(self) -> str:
        return AUDIT_TYPES[self.kind]


def customer(customer_id: int) -> Subject:
    return Subject("customer", customer_id)


def user(user_id: int) -> Subject:
    return Subject("user", user_id)


def check_channel(channel: str) -> str:
    if channel not in CHANNELS:
        raise ValidationFailed.one("channel", f"must be one of: {', '.join(CHANNELS)}")
    return channel


def load(session: Session, actor: Actor, subject: Subject, permission: str) -> Holder:
    """The customer (``actor`` needs ``permission``) or the actor's own account."""
    if subject.kind == "customer":
        actor.require(permission)
        return load_customer(session, subject.id)
    if actor.user_id != subject.id:
        raise PermissionDenied("an account's email and mobile are verified by its own "
                               "user only")
    account = session.get(AdminUser, subject.id)
    if account is None:
        raise NotFound("user", subject.id)
    return account


def describe(holder: Holder) -> str:
    """"customer Acme" / "your account" (for messages)."""
    return f"customer {holder.name}" if isinstance(holder, Customer) else "your account"


def target(holder: Holder, channel: str) -> str:
    return str(holder.email if channel == "email" else holder.mobile)


def verified(holder: Holder, channel: str) -> bool:
    return bool(holder.email_verified if channel == "email" else holder.mobile_verified)


def set_verified(holder: Holder, channel: str, value: bool) -> None:
    if channel == "email":
        holder.email_verified = value
    else:
        holder.mobile_verified = value


def missing_target(holder: Holder, channel: str) -> ValidationFailed:
    """The error of a send to a customer or account without that email/mobile."""
    if isinstance(holder, Customer):
        how = (f"edit the customer and set its {channel}" if channel == "email" else
               "edit the customer and set its mobile in E.164, e.g. +447400123456")
    else:
        how = (f"set your {channel} on your account page first" if channel == "email" else
               "set your mobile in E.164, e.g. +447400123456, on your account page first")
    return ValidationFailed.one(channel, f"{describe(holder)} has no {LABELS[channel]}: "
                                f"{how}")


def contact_view(holder: Holder) -> dict[str, Any]:
    return {"email": holder.email, "email_verified": holder.email_verified,
            "mobile": holder.mobile, "mobile_verified": holder.mobile_verified}
