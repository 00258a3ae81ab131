"""Service level objectives: good/total event searches, an objective and a window (docs/reports.md)."""
