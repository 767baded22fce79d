"""Offline orb tooling (development only, not shipped): pack, validate, review, lint."""
