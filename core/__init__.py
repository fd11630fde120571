"""The shared kernel: settings, tables and their row changes, database and migrations, logging, blobs, errors."""
