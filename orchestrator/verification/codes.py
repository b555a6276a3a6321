"""Send a verification code, check it, reset verification (PRODUCT.md §4).

The code is 6 random digits (``secrets``); only HMAC-SHA256(salt, code) is stored, with
a random salt per code. It expires after ``code_minutes``, allows ``max_attempts``
entries and a new one cannot be sent within ``resend_seconds`` of the previous one
(settings: orchestrator.notify.config.VerificationConfig). A new code replaces the
unused ones before it; changing the email or mobile makes its codes useless (a code
is only good for the address or number it was sent to).

Like every service function, these flush and never commit, and they raise when
nothing changed. The exception is a wrong code: the attempt is counted (a change that
must be kept), so ``check_code`` returns a ``Checked`` with ``error`` set instead of
raising. Callers commit, then call ``Checked.raise_error()``.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from orchestrator.actor import Actor
from orchestrator.audit import service as audit
from orchestrator.customers.models import Customer
from orchestrator.customers.service import iso, load_customer
from orchestrator.db.types import utcnow
from orchestrator.errors import Conflict, ServiceError, TooSoon, ValidationFailed
from orchestrator.notify import outbox
from orchestrator.notify.config import VerificationConfig, verification_config
from orchestrator.verification import subjects
from orchestrator.verification.models import CHANNELS, VerificationCode
from orchestrator.verification.subjects import Holder, Subject

DIGITS = 6
EMAIL_SUBJECT = "Your verification code"


def needs_verification(holder: Holder) -> bool:
    """A customer whose calls the switch refuses (403 Verification Required) until its
    email and mobile are verified (and the change applied)."""
    return isinstance(holder, Customer) and holder.verification_required and not (
        holder.email_verified and holder.mobile_verified)


def new_code() -> str:
    return f"{secrets.randbelow(10 ** DIGITS):0{DIGITS}d}"


def code_hash(salt: str, code: str) -> str:
    return hmac.new(salt.encode(), code.encode(), hashlib.sha256).hexdigest()


def aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes: they are UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Sent:
    """A code on its way: the message is delivered by a job after the commit."""

    channel: str
    target: str
    expires_at: datetime
    resend_after: datetime
    message_id: int

    def to_dict(self) -> dict[str, Any]:
        return {"channel": self.channel, "target": self.target,
                "expires_at": iso(self.expires_at), "resend_after": iso(self.resend_after),
                "message_id": self.message_id}


@dataclass(frozen=True)
class Checked:
    """The outcome of an entered code. ``error`` (a wrong code, counted): commit first,
    then ``raise_error()``. ``apply_needed``: a customer whose calls the switch refuses
    until the change is applied."""

    channel: str
    target: str
    verified: bool
    attempts_left: int
    apply_needed: bool = False
    error: ServiceError | None = None

    def raise_error(self) -> None:
        if self.error is not None:
            raise self.error


def _latest(session: Session, subject: Subject, channel: str,
            target: str | None = None, unused: bool = False) -> VerificationCode | None:
    stmt = select(VerificationCode).where(VerificationCode.subject_type == subject.kind,
                                          VerificationCode.subject_id == subject.id,
                                          VerificationCode.channel == channel)
    if target is not None:
        stmt = stmt.where(VerificationCode.target == target)
    if unused:
        stmt = stmt.where(VerificationCode.used_at.is_(None))
    return session.scalar(stmt.order_by(VerificationCode.id.desc()).limit(1))


def _void(session: Session, subject: Subject, channels: Iterable[str], now: datetime) -> int:
    """Unused codes that have not expired expire now; how many there were."""
    result = session.execute(
        update(VerificationCode)
        .where(VerificationCode.subject_type == subject.kind,
               VerificationCode.subject_id == subject.id,
               VerificationCode.channel.in_(list(channels)),
               VerificationCode.used_at.is_(None), VerificationCode.expires_at > now)
        .values(expires_at=now).execution_options(synchronize_session="fetch"))
    return int(getattr(result, "rowcount", 0) or 0)


def _wait(latest: VerificationCode | None, config: VerificationConfig,
          now: datetime) -> float:
    if latest is None or not config.resend_seconds:
        return 0.0
    ready = aware(latest.created_at) + timedelta(seconds=config.resend_seconds)
    return max(0.0, (ready - now).total_seconds())


def _message(config: VerificationConfig, channel: str, target: str, code: str) -> str:
    if channel == "mobile":
        return f"Your verification code is {code}. It is valid for {config.code_minutes} min."
    return (f"Your verification code is {code}\n\n"
            f"Enter it to verify {target}. It is valid for {config.code_minutes} minutes "
            f"and can be used once.\n\nIf you did not ask for this code, ignore this "
            "message.\n")


def send_code(session: Session, actor: Actor, subject: Subject, channel: str) -> Sent:
    """A new code to the email or mobile of ``subject`` (queued: sent after commit)."""
    subjects.check_channel(channel)
    holder = subjects.load(session, actor, subject, "write")
    target = subjects.target(holder, channel)
    if not target:
        raise subjects.missing_target(holder, channel)
    if subjects.verified(holder, channel):
        raise Conflict(channel, f"{target} is already verified (reset the verification to "
                       "verify it again)")
    config = verification_config(session)
    now = utcnow()
    wait = _wait(_latest(session, subject, channel), config, now)
    if wait > 0:
        seconds = math.ceil(wait)
        raise TooSoon(channel, f"a code was sent less than {config.resend_seconds} s ago: "
                      f"wait {seconds} s before sending another", seconds)
    _void(session, subject, [channel], now)
    code, salt = new_code(), secrets.token_hex(16)
    customer_id = subject.id if subject.kind == "customer" else None
    text = _message(config, channel, target, code)
    if channel == "email":
        message = outbox.queue_email(session, actor, target, EMAIL_SUBJECT, text,
                                     purpose="verification", customer_id=customer_id)
    else:
        message = outbox.queue_sms(session, actor, target, text, purpose="verification",
                                   customer_id=customer_id)
    row = VerificationCode(subject_type=subject.kind, subject_id=subject.id,
                           channel=channel, target=target, salt=salt,
                           code_hash=code_hash(salt, code), attempts=0, created_at=now,
                           expires_at=now + timedelta(minutes=config.code_minutes),
                           message_id=message.id)
    session.add(row)
    session.flush()
    audit.record(session, actor, "send_code", subject.audit_type, subject.id,
                 f"verification code sent to {target} ({subjects.describe(holder)})",
                 after={"channel": channel, "target": target, "message_id": message.id})
    return Sent(channel, target, row.expires_at,
                now + timedelta(seconds=config.resend_seconds), message.id)


def clean_code(code: Any) -> str:
    value = "".join(str(code if code is not None else "").split())
    if len(value) != DIGITS or not value.isdigit():
        raise ValidationFailed.one("code", f"must be the {DIGITS} digits of the message")
    return value


def check_code(session: Session, actor: Actor, subject: Subject, channel: str,
               code: Any) -> Checked:
    """Check an entered code against the latest code sent to the CURRENT email/mobile.

    Raises (nothing changed) for a malformed code, no code, an expired code, or one
    whose attempts are used up. A wrong code is counted and returned as
    ``Checked.error``: commit, then ``raise_error()``. A right code marks the email or
    mobile verified.
    """
    subjects.check_channel(channel)
    holder = subjects.load(session, actor, subject, "write")
    entered = clean_code(code)
    target = subjects.target(holder, channel)
    if not target:
        raise subjects.missing_target(holder, channel)
    if subjects.verified(holder, channel):
        raise Conflict(channel, f"{target} is already verified")
    config = verification_config(session)
    now = utcnow()
    row = _latest(session, subject, channel, target=target, unused=True)
    if row is None:
        raise ValidationFailed.one("code", f"no code was sent to {target}: send a code "
                                   "first")
    if aware(row.expires_at) <= now:
        raise ValidationFailed.one("code", "the code has expired: send a new code")
    counted = session.execute(
        update(VerificationCode)
        .where(VerificationCode.id == row.id,
               VerificationCode.attempts < config.max_attempts)
        .values(attempts=VerificationCode.attempts + 1)
        .execution_options(synchronize_session="fetch"))
    if not getattr(counted, "rowcount", 0):
        raise ValidationFailed.one("code", "too many wrong codes: send a new code")
    session.refresh(row)
    left = max(0, config.max_attempts - row.attempts)
    if not hmac.compare_digest(row.code_hash, code_hash(row.salt, entered)):
        message = (f"wrong code, {left} attempt{'s' if left != 1 else ''} left" if left
                   else "wrong code, and that was the last attempt: send a new code")
        return Checked(channel, target, False, left,
                       error=ValidationFailed.one("code", message))
    row.used_at = now
    refused_before = needs_verification(holder)
    before = subjects.contact_view(holder)
    subjects.set_verified(holder, channel, True)
    session.flush()
    audit.record(session, actor, "verify", subject.audit_type, subject.id,
                 f"{channel} {target} verified ({subjects.describe(holder)})",
                 before=before, after=subjects.contact_view(holder))
    return Checked(channel, target, True, left,
                   apply_needed=refused_before and not needs_verification(holder))


def reset(session: Session, actor: Actor, customer_id: int,
          channels: Iterable[str]) -> Customer:
    """A customer's email and/or mobile is unverified again; unused codes stop working."""
    actor.require("write")
    chosen = [c for c in CHANNELS if c in set(channels)]
    unknown = set(channels) - set(CHANNELS)
    if unknown or not chosen:
        raise ValidationFailed.one("channels", "choose email, mobile or both")
    customer = load_customer(session, customer_id)
    before = subjects.contact_view(customer)
    for channel in chosen:
        subjects.set_verified(customer, channel, False)
    voided = _void(session, subjects.customer(customer_id), chosen, utcnow())
    session.flush()
    audit.record(session, actor, "reset_verify", "customer", customer.id,
                 f"verification of customer {customer.name} reset ({', '.join(chosen)})",
                 before=before | {"codes_voided": 0},
                 after=subjects.contact_view(customer) | {"codes_voided": voided})
    return customer


def _channel_state(session: Session, subject: Subject, holder: Holder, channel: str,
                   config: VerificationConfig, now: datetime) -> dict[str, Any]:
    target = subjects.target(holder, channel)
    latest = _latest(session, subject, channel)
    code = _latest(session, subject, channel, target=target, unused=True) if target else None
    live = code is not None and aware(code.expires_at) > now
    wait = _wait(latest, config, now)
    return {
        "target": target, "verified": subjects.verified(holder, channel),
        "code_expires_at": iso(code.expires_at) if code is not None and live else None,
        "attempts_left": (max(0, config.max_attempts - code.attempts)
                          if code is not None and live else None),
        "resend_after": iso(now + timedelta(seconds=wait)) if wait > 0 else None,
        "resend_in_seconds": math.ceil(wait),
    }


def state(session: Session, actor: Actor, subject: Subject) -> dict[str, Any]:
    """Email, mobile, whether each is verified, and the pending code of each."""
    holder = subjects.load(session, actor, subject, "read")
    config, now = verification_config(session), utcnow()
    out: dict[str, Any] = {f"{subject.kind}_id": subject.id} | subjects.contact_view(holder)
    if isinstance(holder, Customer):
        out |= {"name": holder.name, "verification_required": holder.verification_required,
                "needs_verification": needs_verification(holder)}
    out["channels"] = {c: _channel_state(session, subject, holder, c, config, now)
                       for c in CHANNELS}
    return out
