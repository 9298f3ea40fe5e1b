"""The audit log and job ledger system, kept in the internal database.

`schema` holds its tables (a migration step), `audit` appends audit rows in batches,
`jobs` runs the job ledger, `retention` trims both, `search` reads them for the pages and
`service.Activity` ties them to one `Datasette`.
"""

from .audit import AuditLog  # noqa: F401
from .jobs import Job, JobLedger  # noqa: F401
from .service import Activity  # noqa: F401
