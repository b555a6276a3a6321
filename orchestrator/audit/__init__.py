"""The audit log: who changed what and when, with before/after values."""
