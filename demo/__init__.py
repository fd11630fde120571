"""Embedded local demo setup: mail servers and sample data for `cers-intake demo`."""
