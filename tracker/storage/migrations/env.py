"""Alembic environment: runs against the connection tracker.storage.migrate hands it."""
from alembic import context
from sqlmodel import SQLModel

from tracker.storage import models  # noqa: F401  (registers the tables)

target_metadata = SQLModel.metadata


def run() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations through tracker.storage.migrate (escalations db upgrade)")
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=connection.dialect.name == "sqlite", compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


run()
