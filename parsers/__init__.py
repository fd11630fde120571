"""PDF bytes to a typed BSF831 form. No database, no network."""
