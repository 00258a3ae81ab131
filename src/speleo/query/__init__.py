"""Speleo query layer (see docs/architecture.md)."""
