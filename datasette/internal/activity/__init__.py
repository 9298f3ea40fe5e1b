"""The audit log and job ledger system, kept in the internal database."""
