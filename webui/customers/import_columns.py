"""What the customer import wizard knows about columns: each field's label, the header
names that mean a field, the example row, and the first guess of a mapping."""

from __future__ import annotations

import re

from orchestrator.customers.validation import CUSTOMER_FIELDS

FIELD_LABELS: dict[str, str] = {
    "name": "Name",
    "status": "Status",
    "currency": "Currency",
    "tax_percent": "Tax %",
    "debit_limit": "Debit limit",
    "channels": "Channels",
    "cps": "CPS",
    "paypal_email": "PayPal email",
    "website": "Website",
    "portal_access": "Portal access",
    "address_lines": "Address lines",
    "city": "City",
    "postcode": "Postcode",
    "country": "Country",
    "email": "Email",
    "mobile": "Mobile",
    "email_verified": "Email verified",
    "mobile_verified": "Mobile verified",
    "verification_required": "Verification required",
    "pass_headers": "Headers passed",
    "pai": "P-Asserted-Identity",
    "low_balance_threshold": "Low balance alert",
}
assert set(FIELD_LABELS) == set(CUSTOMER_FIELDS), "a customer field has no label"

# Header names that mean a field although they are not its name or label; compared
# after normalise().
SYNONYMS: dict[str, str] = {
    "customer": "name", "customername": "name", "company": "name",
    "companyname": "name", "account": "name", "accountname": "name",
    "ccy": "currency", "curr": "currency",
    "tax": "tax_percent", "taxrate": "tax_percent", "vat": "tax_percent",
    "vat%": "tax_percent", "vatpercent": "tax_percent",
    "creditlimit": "debit_limit",
    "maxchannels": "channels", "channellimit": "channels", "lines": "channels",
    "callspersecond": "cps", "maxcps": "cps",
    "mail": "email", "emailaddress": "email", "e-mail": "email",
    "phone": "mobile", "phonenumber": "mobile", "mobilephone": "mobile",
    "mobilenumber": "mobile", "cell": "mobile", "telephone": "mobile",
    "paypal": "paypal_email", "paypalaccount": "paypal_email",
    "url": "website", "web": "website", "homepage": "website", "site": "website",
    "portal": "portal_access",
    "address": "address_lines", "addressline": "address_lines", "street": "address_lines",
    "town": "city",
    "zip": "postcode", "zipcode": "postcode", "postalcode": "postcode",
    "countrycode": "country",
    "headers": "pass_headers", "passheaders": "pass_headers",
}

EXAMPLE_ROW: dict[str, str] = {
    "name": "Example Telecom Ltd", "status": "active", "currency": "USD",
    "tax_percent": "20", "debit_limit": "0", "channels": "30", "cps": "5",
    "paypal_email": "billing@example.com", "website": "https://example.com",
    "portal_access": "no", "address_lines": "1 Example Street", "city": "London",
    "postcode": "EC1A 1AA", "country": "GB", "email": "noc@example.com",
    "mobile": "+447400123456", "email_verified": "no", "mobile_verified": "no",
    "verification_required": "no",
    "pass_headers": "Diversion; Remote-Party-ID", "pai": "accept",
    "low_balance_threshold": "10",
}


def normalise(header: str) -> str:
    """A header name compared ignoring case, spaces, underscores, dots and dashes."""
    return re.sub(r"[\s_.\-]+", "", header.lower())


_KNOWN: dict[str, str] = (
    {normalise(s): f for s, f in SYNONYMS.items()}
    | {normalise(label): f for f, label in FIELD_LABELS.items()}
    | {normalise(f): f for f in CUSTOMER_FIELDS}
)


def guess_mapping(columns: list[str]) -> dict[str, str]:
    """column -> field for the header names that name a field; each field at most once."""
    mapping: dict[str, str] = {}
    for column in columns:
        target = _KNOWN.get(normalise(column)) if column else None
        if target is not None and target not in mapping.values():
            mapping[column] = target
    return mapping
