"""Alembic environment: the connection comes from xlcheck.serve.db.migrate (no alembic.ini)."""
from alembic import context

from xlcheck.serve.db import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata,
                  render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
