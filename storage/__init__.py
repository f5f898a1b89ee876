"""Guildhall storage: SQLAlchemy models, queries, durable queues and Alembic migrations."""
