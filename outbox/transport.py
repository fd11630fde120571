"""The SMTP connection: TLS as the settings say (certificates always verified), login, and one
message handed over, with the server's answers mapped to SendError (try again) or
PermanentSendError (a 5xx: trying again will not help)."""

from __future__ import annotations

import ssl
from email.utils import parseaddr

import aiosmtplib

from core.errors import PermanentSendError, SendError
from core.settings import SmtpSettings

# 5xx answers about our session (TLS or login required, credentials refused), not about the
# message: fixing the settings fixes them, so the notice waits instead of failing
SESSION_REFUSALS = frozenset({530, 534, 535, 538})


class ConnectionLost(SendError):
    """The connection is gone (dropped, timed out, or closed by a 421): reconnect before the next message."""


def tls_context(smtp: SmtpSettings) -> ssl.SSLContext:
    """The system's trusted authorities, plus smtp.ca_file when set; host names checked."""
    context = ssl.create_default_context()
    if smtp.ca_file:
        context.load_verify_locations(cafile=smtp.ca_file)
    return context


def smtp_client(smtp: SmtpSettings) -> aiosmtplib.SMTP:
    secure = smtp.security != "none"
    return aiosmtplib.SMTP(
        hostname=smtp.host,
        port=smtp.port,
        timeout=smtp.timeout,
        use_tls=smtp.security == "tls",
        start_tls=smtp.security == "starttls",
        validate_certs=secure,
        tls_context=tls_context(smtp) if secure else None,
    )


async def open_connection(smtp: SmtpSettings) -> aiosmtplib.SMTP:
    """Connect, secure and log in; SendError naming the server when any of it fails."""
    client = smtp_client(smtp)
    where = f"{smtp.host}:{smtp.port}"
    try:
        await client.connect()
        if smtp.username:
            await client.login(smtp.username, smtp.password.get_secret_value())
    except aiosmtplib.SMTPAuthenticationError as exc:
        client.close()
        raise SendError(f"SMTP login as {smtp.username!r} at {where} refused: {exc.code} {exc.message}") from exc
    except (aiosmtplib.SMTPException, OSError, ssl.SSLError) as exc:
        client.close()
        raise SendError(f"cannot connect to the SMTP server at {where}: {exc}") from exc
    return client


async def close_connection(client: aiosmtplib.SMTP) -> None:
    if not client.is_connected:
        return
    try:
        await client.quit()
    except (aiosmtplib.SMTPException, OSError):
        client.close()


async def hand_over(client: aiosmtplib.SMTP, smtp: SmtpSettings, raw: bytes, recipient: str) -> None:
    """Send one message; return only when the server has accepted it."""
    address = parseaddr(recipient)[1] or recipient
    international = not (address.isascii() and smtp.from_address.isascii())
    try:
        errors, _ = await client.sendmail(smtp.from_address, [address], raw, mail_options=["SMTPUTF8"] if international else None)
    except aiosmtplib.SMTPRecipientsRefused as exc:
        codes = [refusal.code for refusal in exc.recipients]
        error = PermanentSendError if codes and all(500 <= c < 600 for c in codes) else SendError
        raise error(f"recipient refused: {'; '.join(f'{r.code} {r.message}' for r in exc.recipients)}") from exc
    except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError, aiosmtplib.SMTPConnectError, OSError) as exc:
        raise ConnectionLost(f"connection lost: {exc}") from exc
    except aiosmtplib.SMTPResponseException as exc:
        if exc.code in SESSION_REFUSALS:
            raise ConnectionLost(f"{exc.code} {exc.message} (check smtp.security and the login)") from exc
        if 500 <= exc.code < 600:
            raise PermanentSendError(f"{exc.code} {exc.message}") from exc
        if exc.code == 421 or not client.is_connected:
            raise ConnectionLost(f"{exc.code} {exc.message}") from exc
        raise SendError(f"{exc.code} {exc.message}") from exc
    except aiosmtplib.SMTPNotSupported as exc:
        raise PermanentSendError(f"the server cannot take this message: {exc}") from exc
    except aiosmtplib.SMTPException as exc:
        raise ConnectionLost(str(exc)) from exc
    except ValueError as exc:
        raise PermanentSendError(f"invalid recipient address: {exc}") from exc
    if errors:
        details = "; ".join(f"{addr}: {resp.code} {resp.message}" for addr, resp in errors.items())
        raise PermanentSendError(f"recipient refused: {details}")
