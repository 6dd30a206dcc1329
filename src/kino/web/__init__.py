"""Server-rendered pages for viewers and staff."""
