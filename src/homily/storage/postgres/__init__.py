"""PostgreSQL backend of the `Store` and `ContentStore` protocols, for several replicas sharing one database.

Importing this package imports psycopg; `homily.storage.factory` imports it only for a PostgreSQL URL, so the
embedded default never needs it.
"""

from homily.storage.postgres.content import PostgresContentStore
from homily.storage.postgres.deadline import DatabaseUnavailableError
from homily.storage.postgres.migrations import MIGRATIONS, apply_migrations
from homily.storage.postgres.secrets import shared_signing_key
from homily.storage.postgres.store import PostgresStore

__all__ = [
    "MIGRATIONS",
    "DatabaseUnavailableError",
    "PostgresContentStore",
    "PostgresStore",
    "apply_migrations",
    "shared_signing_key",
]
