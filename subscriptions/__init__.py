"""Live updates: event log, broadcaster wiring and backends, resumable streams."""
