"""The shared kernel: settings, tables, database, logging, errors and the CLI entry."""
