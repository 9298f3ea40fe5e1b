"""The column statistics system, kept in the internal database."""
