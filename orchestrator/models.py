"""Imports every domain's models so that metadata (and Alembic) sees all tables."""

from orchestrator.audit.models import AuditEntry
from orchestrator.billing.models import Cdr, CdrFile, CdrFix
from orchestrator.carriers.models import Carrier, CarrierPayment, Gateway
from orchestrator.customers.models import Customer, CustomerIP, CustomerPayment, SipUser
from orchestrator.db.base import Base
from orchestrator.jobs.models import Job
from orchestrator.media.models import DtmfCount
from orchestrator.notify.models import Message, StoredSettings
from orchestrator.ratecards.models import (
    CardEmail,
    CustomerCard,
    CustomerCardParent,
    ExchangeRate,
    ProfitRule,
    ProviderCard,
    Rate,
    RateRevision,
)
from orchestrator.routing.models import IngressRoute
from orchestrator.switch.models import SwitchNodeRecord
from orchestrator.users.models import AdminUser, ApiToken, UserPreference
from orchestrator.verification.models import VerificationCode

metadata = Base.metadata

__all__ = [
    "AdminUser",
    "ApiToken",
    "AuditEntry",
    "CardEmail",
    "Carrier",
    "CarrierPayment",
    "Cdr",
    "CdrFile",
    "CdrFix",
    "Customer",
    "CustomerCard",
    "CustomerCardParent",
    "CustomerIP",
    "CustomerPayment",
    "DtmfCount",
    "ExchangeRate",
    "Gateway",
    "IngressRoute",
    "Job",
    "Message",
    "ProfitRule",
    "ProviderCard",
    "Rate",
    "RateRevision",
    "SipUser",
    "StoredSettings",
    "SwitchNodeRecord",
    "UserPreference",
    "VerificationCode",
    "metadata",
]
