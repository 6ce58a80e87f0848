"""The system of record: SQLAlchemy 2 models and Alembic migrations (SQLite default, PostgreSQL for teams)."""
