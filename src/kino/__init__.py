"""Kino: an open cinema platform."""
