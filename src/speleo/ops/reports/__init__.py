"""Operations reports: response (MTTx), availability (SLOs), capacity and disk health.

Each report is a function returning a plain dict (JSON-ready); the CLI (`speleo report`), the
API (`/api/v1/reports/...`) and the web pages render that same dict. See docs/reports.md.
"""
