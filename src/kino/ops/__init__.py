"""Health, readiness, metrics and logging."""
