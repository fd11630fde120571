"""Validation, the application state machine, officer decisions and the processing of messages."""
