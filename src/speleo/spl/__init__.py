"""Speleo spl layer (see docs/architecture.md)."""
