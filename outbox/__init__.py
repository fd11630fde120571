"""Notices: bilingual templates, rendering into stored messages, and sending them over SMTP."""
