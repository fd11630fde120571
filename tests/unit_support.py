"""Helpers for unit tests: an in-memory SQLite database with every table, no server, no file."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage

from sqlalchemy.engine import Engine
from sqlalchemy.pool import StaticPool
from sqlmodel import SQLModel, create_engine

import core.models  # noqa: F401  (registers the tables on SQLModel.metadata)


def memory_engine() -> Engine:
    """A private in-memory SQLite database holding every table (one connection, shared by sessions)."""
    engine = create_engine("sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False})
    SQLModel.metadata.create_all(engine)
    return engine


def parsed(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message
