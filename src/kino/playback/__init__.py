"""Playback: entitlement checks, signed stream URLs, the stream itself, watch progress and
history."""
