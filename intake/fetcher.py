"""Fetching new mail: archive and commit each message, then move it to the processed folder."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import structlog
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from core.blobs import BlobStore, sha256_hex
from core.db import session_scope
from core.errors import MailboxError
from core.models import InboundMessage, MailboxState, utcnow
from core.settings import MailboxSettings
from intake.mime import parse_message

log = structlog.get_logger("intake")


@dataclass
class FetchReport:
    fetched: int = 0
    duplicates: int = 0
    moved: int = 0


def fetch_new_messages(
    client: IMAPClient, *, settings: MailboxSettings, engine: Engine, blobs: BlobStore
) -> FetchReport:
    """One intake pass over the folder. Safe to interrupt anywhere: a rerun resumes it."""
    report = FetchReport()
    try:
        uidvalidity = int(client.select_folder(settings.folder)[b"UIDVALIDITY"])
        ensure_folder(client, settings.processed_folder)
        uids = sorted(int(uid) for uid in client.search("ALL"))
    except IMAPClientError as exc:
        raise MailboxError(f"cannot read folder {settings.folder!r}: {exc}") from exc
    known = _recorded_uids(engine, settings, uidvalidity, uids)
    if known:
        log.info("moving messages recorded earlier", count=len(known))
        report.moved += _move_and_mark(client, engine, settings, uidvalidity, sorted(known))
    new = [uid for uid in uids if uid not in known]
    for batch in _chunks(new, settings.batch_size):
        try:
            fetched = client.fetch(batch, [b"BODY.PEEK[]"])
        except IMAPClientError as exc:
            raise MailboxError(f"FETCH failed in {settings.folder!r}: {exc}") from exc
        handled = _record_batch(engine, blobs, settings, uidvalidity, batch, fetched, report)
        report.moved += _move_and_mark(client, engine, settings, uidvalidity, handled)
    _record_poll(engine, settings, uidvalidity, max(uids, default=0))
    return report


def ensure_folder(client: IMAPClient, folder: str) -> None:
    if not client.folder_exists(folder):
        client.create_folder(folder)


def move_messages(client: IMAPClient, uids: Sequence[int], folder: str) -> None:
    """MOVE where the server has it; otherwise COPY, flag deleted and expunge those UIDs."""
    if not uids:
        return
    try:
        if client.has_capability("MOVE"):
            client.move(uids, folder)
            return
        client.copy(uids, folder)
        client.delete_messages(uids)
        if client.has_capability("UIDPLUS"):
            client.uid_expunge(uids)
        else:
            client.expunge()
    except IMAPClientError as exc:
        raise MailboxError(f"cannot move {len(uids)} message(s) to {folder!r}: {exc}") from exc


def _record_batch(
    engine: Engine,
    blobs: BlobStore,
    settings: MailboxSettings,
    uidvalidity: int,
    batch: Sequence[int],
    fetched: dict,
    report: FetchReport,
) -> list[int]:
    """Archive and insert each fetched message in one transaction; return the UIDs to move."""
    handled = []
    with session_scope(engine) as session:
        for uid in batch:
            data = fetched.get(uid)
            if not data or b"BODY[]" not in data:
                log.warning("message vanished before fetch", uid=uid)
                continue
            raw = bytes(data[b"BODY[]"])
            digest = sha256_hex(raw)
            handled.append(uid)
            if session.exec(select(InboundMessage.id).where(InboundMessage.sha256 == digest)).first():
                report.duplicates += 1
                log.info("message already recorded under another uid", uid=uid)
                continue
            blobs.put(raw, ".eml")
            session.add(_new_row(settings, uidvalidity, uid, raw, digest))
            report.fetched += 1
            log.info("message recorded", uid=uid, size=len(raw))
    return handled


def _new_row(settings: MailboxSettings, uidvalidity: int, uid: int, raw: bytes, digest: str) -> InboundMessage:
    parsed = parse_message(raw)
    return InboundMessage(
        mailbox=settings.name,
        folder=settings.folder,
        uidvalidity=uidvalidity,
        uid=uid,
        sha256=digest,
        size=len(raw),
        message_id=_clip(parsed.message_id),
        in_reply_to=_clip(parsed.in_reply_to),
        references=_clip(parsed.references, 4000),
        sender=_clip(parsed.sender),
        reply_to=_clip(parsed.reply_to),
        subject=_clip(parsed.subject),
        date_header=_clip(parsed.date),
    )


def _move_and_mark(
    client: IMAPClient, engine: Engine, settings: MailboxSettings, uidvalidity: int, uids: list[int]
) -> int:
    if not uids:
        return 0
    move_messages(client, uids, settings.processed_folder)
    with session_scope(engine) as session:
        rows = session.exec(
            select(InboundMessage).where(
                InboundMessage.mailbox == settings.name,
                InboundMessage.uidvalidity == uidvalidity,
                col(InboundMessage.uid).in_(uids),
            )
        )
        for row in rows:
            row.moved = True
            session.add(row)
    return len(uids)


def _recorded_uids(engine: Engine, settings: MailboxSettings, uidvalidity: int, uids: list[int]) -> set[int]:
    known: set[int] = set()
    with session_scope(engine) as session:
        for chunk in _chunks(uids, 500):
            known.update(
                session.exec(
                    select(InboundMessage.uid).where(
                        InboundMessage.mailbox == settings.name,
                        InboundMessage.uidvalidity == uidvalidity,
                        col(InboundMessage.uid).in_(chunk),
                    )
                )
            )
    return known


def _record_poll(engine: Engine, settings: MailboxSettings, uidvalidity: int, highest_uid: int) -> None:
    with session_scope(engine) as session:
        state = session.exec(
            select(MailboxState).where(
                MailboxState.mailbox == settings.name, MailboxState.folder == settings.folder
            )
        ).first() or MailboxState(mailbox=settings.name, folder=settings.folder)
        if state.uidvalidity != uidvalidity:
            state.uidvalidity, state.last_uid = uidvalidity, 0
        state.last_uid = max(state.last_uid, highest_uid)
        state.last_poll_at = utcnow()
        session.add(state)


def _chunks(items: Sequence[int], size: int) -> Iterable[list[int]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def _clip(value: str | None, limit: int = 998) -> str | None:
    return value[:limit] if value else value
