"""Rate decks: read an uploaded file, map its columns, validate it into the canonical
frame, store it in ``rates`` in bulk, and export it again (see
``docs/design/ratecards.md``, "Import pipeline"). Pure data functions: no web, API or
service code here."""

from orchestrator.ratecards.deck.errors import DeckError, RowError
from orchestrator.ratecards.deck.mapping import (
    FIELDS,
    Mapping,
    guess_mapping,
    resolve,
    suggest_mapping,
)
from orchestrator.ratecards.deck.reader import read_deck
from orchestrator.ratecards.deck.store import page_rates, read_rates, write_rates
from orchestrator.ratecards.deck.table import RawTable
from orchestrator.ratecards.deck.validate import (
    CANONICAL_SCHEMA,
    ValidationResult,
    validate,
)
from orchestrator.ratecards.deck.writer import export, export_bytes

__all__ = [
    "CANONICAL_SCHEMA",
    "FIELDS",
    "DeckError",
    "Mapping",
    "RawTable",
    "RowError",
    "ValidationResult",
    "export",
    "export_bytes",
    "guess_mapping",
    "page_rates",
    "read_deck",
    "read_rates",
    "resolve",
    "suggest_mapping",
    "validate",
    "write_rates",
]
