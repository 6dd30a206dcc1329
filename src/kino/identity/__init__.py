"""Users, roles, password hashing, JWT access and refresh tokens, API keys."""
