"""Persistence: SQLAlchemy 2 typed models, query functions and Alembic migrations. No Slack here."""
