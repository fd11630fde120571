"""`cers-intake demo`: the embedded mail servers, seeded, with the daemon on them."""

from __future__ import annotations

from app.runner import Runner
from core.db import session_scope
from core.errors import IntakeError
from core.settings import Settings
from demo.mailservers import PymapServer, SmtpSink
from demo.run import DEMO_POLL_SECONDS, PASSWORD_FILE, demo_password, demo_settings, seed
from processors.queue import list_applications


def run_demo(settings: Settings, once: bool = False) -> None:
    base = settings.storage.path / "demo"
    sent_mail = base / "sent-mail"
    password = demo_password(base)  # kept in var/demo/imap-password: `status` logs in with it
    imap = PymapServer(base / "imap", port=settings.mailbox.port, username=settings.mailbox.username, password=password)
    sink = SmtpSink(maildir=sent_mail, port=settings.smtp.port)
    try:
        imap.start()
        sink.start()
    except Exception as exc:
        imap.stop()
        raise IntakeError(
            f"cannot start the demo mail servers on 127.0.0.1:{settings.mailbox.port} (IMAP) and "
            f":{settings.smtp.port} (SMTP): {exc}. Is another demo running?"
        ) from exc
    try:
        seeded = seed(imap, settings.mailbox.folder, base / "seeded")
        runner = Runner(demo_settings(settings, password))
        _say(f"demo mailbox: IMAP 127.0.0.1:{imap.port} (pymap), SMTP sink 127.0.0.1:{sink.port} (aiosmtpd)")
        _say(f"seeded {seeded} sample message(s)" if seeded else "samples were seeded on an earlier run")
        report = runner.run_once()
        _say(f"pass: fetched {report.fetch.fetched}, processed {report.process.processed}, sent {report.send.sent}")
        _print_queue(runner)
        _say(f"sent mail is kept as one file per message in {sent_mail.resolve()}/new/")
        if once:
            return
        _say("approve one from another terminal, in this folder:")
        _say("    .venv/bin/cers-intake queue")
        _say("    .venv/bin/cers-intake approve ID --officer YOUR-NAME")
        _say(f"the daemon polls every {DEMO_POLL_SECONDS:g} s and sends the activation code; Ctrl-C stops it")
        _say("the backlog, with the demo mailbox's counts:")
        _say(f'    CERS_MAILBOX__PASSWORD="$(cat {base / PASSWORD_FILE})" .venv/bin/cers-intake status')
        runner.run_forever()
    finally:
        sink.stop()
        imap.stop()


def _print_queue(runner: Runner) -> None:
    with session_scope(runner.engine) as session:
        rows = list_applications(session)
    _say("queue:")
    for row in rows:
        errors = [f"item {f['item']} ({f['code']})" for f in row["findings"] if f["severity"] == "error"]
        problems = f" - needs: {', '.join(errors)}" if errors else ""
        _say(f"  #{row['id']} {row['state']:<15} {row['legal_name'] or '(no legal name)'}{problems}")


def _say(text: str) -> None:
    print(text, flush=True)
