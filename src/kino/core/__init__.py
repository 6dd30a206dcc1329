"""Infrastructure shared by every domain: database, errors, paging, security, ports."""
