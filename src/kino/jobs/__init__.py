"""Durable background jobs: rows in the database, run by the embedded pool or Celery workers."""
