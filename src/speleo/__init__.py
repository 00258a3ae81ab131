"""Speleo: a self-hosted operations platform (collect, index, search logs with SPL)."""

__version__ = "0.1.0"
