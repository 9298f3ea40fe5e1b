"""The result cache: table counts and facet results reused while their database is
unchanged, stored in the internal database (docs/internal-database.md, "The result cache")."""

from .service import ResultCache, deterministic

__all__ = ["ResultCache", "deterministic"]
