"""Speleo's events on ClickHouse: table layout and DDL (`ddl`), the connection (`client`) and the
insert path (`sink`). Design: docs/decisions/0032-clickhouse.md; research:
../shared/docs/specs/clickhouse.md."""
