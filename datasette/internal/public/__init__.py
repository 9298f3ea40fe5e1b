"""The public databases, tables and queries system, kept in the internal database."""
