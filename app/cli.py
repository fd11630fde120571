"""The cers-intake command line."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import typer
from sqlmodel import Session

from core.db import open_database, session_scope
from core.enums import AppState
from core.errors import IntakeError
from core.log import configure_logging
from core.settings import Settings, load_settings

app = typer.Typer(
    help="Email intake for the CBSA Exporter reporting application form (BSF831).", no_args_is_help=True, add_completion=False
)
JSON_OPTION = typer.Option(False, "--json", help="Print JSON instead of text.")
OFFICER_OPTION = typer.Option(..., "--officer", help="The officer who decides.")


def fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def settings_or_exit() -> Settings:
    try:
        settings = load_settings()
    except IntakeError as exc:
        fail(str(exc), code=2)
    configure_logging(settings.logging)
    return settings


@contextmanager
def database(settings: Settings) -> Iterator[Session]:
    try:
        with session_scope(open_database(settings)) as session:
            yield session
    except IntakeError as exc:
        fail(str(exc))


def emit(data: Any, as_json: bool, text: Callable[[Any], str]) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str) if as_json else text(data))


@app.command()
def run(
    once: bool = typer.Option(False, "--once", help="One full pass of intake, processing and sending, then exit."),
    workers: int = typer.Option(
        0,
        "--workers",
        min=0,
        help="Worker processes that process messages and send notices while this one fetches (0: this process does it all).",
    ),
) -> None:
    """Run the daemon: fetch new mail, process it, send the answers."""
    from app.runner import Runner

    settings = settings_or_exit()
    if once and workers:
        fail("--once runs one pass in this process; leave out --workers")
    if workers:
        from app.workers import run_with_workers

        try:
            run_with_workers(settings, workers)
        except IntakeError as exc:
            fail(str(exc))
        return
    try:
        runner = Runner(settings)
        if not once:
            runner.run_forever()
            return
        report = runner.run_once()
    except IntakeError as exc:
        fail(str(exc))
    typer.echo(
        f"fetched {report.fetch.fetched}, processed {report.process.processed}, "
        f"quarantined {report.process.quarantined}, sent {report.send.sent}, deferred {report.send.deferred}"
    )
    if report.errors:
        fail("; ".join(report.errors))


@app.command()
def queue(
    state: AppState | None = typer.Option(None, "--state", help="Only applications in this state."),
    as_json: bool = JSON_OPTION,
) -> None:
    """List applications, oldest first."""
    from processors.queue import list_applications

    settings = settings_or_exit()
    with database(settings) as session:
        rows = list_applications(session, state)
    emit(rows, as_json, _queue_text)


@app.command()
def show(application_id: int = typer.Argument(..., metavar="ID"), as_json: bool = JSON_OPTION) -> None:
    """Show one application: fields, findings, versions, notices and audit trail."""
    from processors.queue import application_detail

    settings = settings_or_exit()
    with database(settings) as session:
        detail = application_detail(session, application_id)
    emit(detail, as_json, _detail_text)


@app.command()
def approve(
    application_id: int = typer.Argument(..., metavar="ID"),
    officer: str = OFFICER_OPTION,
    replace_email: bool = typer.Option(
        False, "--replace-email", help="The exporter already has an account at another address: replace it with the form's."
    ),
) -> None:
    """Approve: issue the authorization ID and send the activation code to the form's exporter email."""
    from processors.decisions import approve as approve_application

    settings = settings_or_exit()
    with database(settings) as session:
        approval = approve_application(session, settings, application_id, officer=officer, replace_email=replace_email)
    typer.echo(
        f"application {approval.application_id} approved: authorization ID {approval.authorization_id}; "
        f"activation code queued for {approval.email} (valid until {approval.code_expires_at.date()})"
    )
    if approval.replaced_email:
        typer.echo(f"the account's address {approval.replaced_email} was replaced by {approval.email}, and told so")
    if approval.association:
        typer.echo(f"association recorded: {approval.association}")


@app.command()
def reject(
    application_id: int = typer.Argument(..., metavar="ID"),
    officer: str = OFFICER_OPTION,
    reason: str = typer.Option("", "--reason", help="The reason in English, sent to the applicant (with --reason-fr)."),
    reason_fr: str = typer.Option("", "--reason-fr", help="The reason in French."),
    reason_code: str = typer.Option("", "--reason-code", help="A standard text of the catalogue (cers-intake reasons list)."),
) -> None:
    """Reject an application with a reason, in English and French, sent to the applicant."""
    from processors.decisions import reject as reject_application

    settings = settings_or_exit()
    with database(settings) as session:
        en, fr = _officer_text(session, reason, reason_fr, reason_code, "--reason", "--reason-fr", "--reason-code")
        reject_application(session, settings, application_id, officer=officer, reason=en, reason_fr=fr)
    typer.echo(f"application {application_id} rejected; the reason is queued for the applicant in English and French")


@app.command("request-info")
def request_info(
    application_id: int = typer.Argument(..., metavar="ID"),
    officer: str = OFFICER_OPTION,
    message: str = typer.Option("", "--message", help="The request in English, sent to the applicant (with --message-fr)."),
    message_fr: str = typer.Option("", "--message-fr", help="The request in French."),
    message_code: str = typer.Option("", "--message-code", help="A standard text of the catalogue (cers-intake reasons list)."),
) -> None:
    """Ask the applicant for more information, in English and French; the application goes back to needs_info."""
    from processors.decisions import request_info as request_information

    settings = settings_or_exit()
    with database(settings) as session:
        en, fr = _officer_text(session, message, message_fr, message_code, "--message", "--message-fr", "--message-code")
        request_information(session, settings, application_id, officer=officer, message=en, message_fr=fr)
    typer.echo(f"application {application_id} needs information; the message is queued for the applicant in English and French")


def _officer_text(session: Session, en: str, fr: str, code: str, en_flag: str, fr_flag: str, code_flag: str) -> tuple[str, str]:
    """Text for the applicant in both languages: from the two options, or from the catalogue."""
    from processors.reasons import reason as catalogue_text

    if code:
        if en or fr:
            fail(f"give either {code_flag} or {en_flag} with {fr_flag}, not both", code=2)
        found = catalogue_text(session, code)
        return found.text_en, found.text_fr
    if not en.strip():
        fail(f"{en_flag} is required (the English text), with {fr_flag}; or {code_flag} CODE for a standard text", code=2)
    if not fr.strip():
        fail(f"the French text is missing: add {fr_flag} (applicants read both official languages), or use {code_flag} CODE", code=2)
    return en, fr


@app.command()
def status(as_json: bool = JSON_OPTION) -> None:
    """The backlog at a glance: mailbox counts, queue by state, age against the service level, outbox, quarantine."""
    from monitor.status import backlog_status

    settings = settings_or_exit()
    with database(settings) as session:
        summary = backlog_status(session, settings)
    emit(summary, as_json, _status_text)


notices_app = typer.Typer(help="Notice templates.", no_args_is_help=True)
app.add_typer(notices_app, name="notices")


@notices_app.command("preview")
def notices_preview(
    kind: str = typer.Argument(..., help="The notice kind, e.g. acknowledgment."),
    lang: str = typer.Option("en", "--lang", help="The applicant's language (en or fr): it comes first."),
    part: str = typer.Option("both", "--part", help="text, html or both (html prints the HTML document alone)."),
) -> None:
    """Print a notice rendered with sample values (nothing is stored or sent)."""
    from outbox.preview import preview_message, preview_text

    settings = settings_or_exit()
    if part not in ("text", "html", "both"):
        fail(f"unknown part {part!r}; use text, html or both", code=2)
    try:
        message = preview_message(kind, lang, settings.smtp, settings.notices)
    except ValueError as exc:
        fail(str(exc), code=2)
    typer.echo(preview_text(message, part))


@notices_app.command("check")
def notices_check() -> None:
    """Render every notice kind in both orders and check each half (French spacing, dates, the form's title, no English in French)."""
    from outbox.check import english_problems, french_half, french_problems
    from outbox.preview import preview_message
    from outbox.render import SEPARATOR, known_kinds

    settings = settings_or_exit()
    failures = 0
    for kind in known_kinds():
        for lead in ("en", "fr"):
            message = preview_message(kind, lead, settings.smtp, settings.notices)
            body = message.get_body(("plain",))
            text = body.get_content() if body is not None else ""
            french = french_half(text, lead)
            english = text.replace(french, "").replace(SEPARATOR[lead], "")
            subject_fr = str(message["Subject"]).split(" / ")[0 if lead == "fr" else -1]
            problems = french_problems(subject_fr + "\n" + french) + english_problems(english)
            for problem in problems:
                typer.echo(f"{kind} ({lead} first): {problem}")
            failures += bool(problems)
    kinds = len(known_kinds()) * 2
    typer.echo(f"{kinds - failures} of {kinds} renderings pass")
    if failures:
        raise typer.Exit(1)


@app.command()
def demo(once: bool = typer.Option(False, "--once", help="Seed, run one pass, print the queue and stop.")) -> None:
    """Run against an embedded local IMAP server and SMTP sink, seeded with sample applications."""
    from app.demo import run_demo

    settings = settings_or_exit()
    try:
        run_demo(settings, once=once)
    except IntakeError as exc:
        fail(str(exc))


@app.command("reissue-code")
def reissue_code(application_id: int = typer.Argument(..., metavar="ID"), officer: str = OFFICER_OPTION) -> None:
    """Send an approved exporter a new activation code (the old one stops working)."""
    from processors.decisions import reissue_code as reissue

    settings = settings_or_exit()
    with database(settings) as session:
        result = reissue(session, settings, application_id, officer=officer)
    typer.echo(
        f"application {application_id}: a new activation code is queued for {result.email} (valid until {result.code_expires_at.date()})"
    )


@app.command()
def console(
    development: bool = typer.Option(
        False,
        "--development",
        help="Plain http on loopback: cookies without Secure and no HSTS; without CERS_CONSOLE__SECRET_KEY, a throwaway key "
        "(sessions end when the console stops).",
    ),
    host: str | None = typer.Option(None, "--host", help="Address to listen on (default: console.host)."),
    port: int | None = typer.Option(None, "--port", help="Port to listen on (default: console.port)."),
) -> None:
    """Serve the officer console (web pages) until stopped."""
    from console.serve import serve

    settings = settings_or_exit()
    try:
        serve(settings, open_database(settings), development=development, host=host, port=port)
    except IntakeError as exc:
        fail(str(exc), code=2)


reasons_app = typer.Typer(help="The catalogue of standard texts for decisions, in English and French.", no_args_is_help=True)
app.add_typer(reasons_app, name="reasons")


@reasons_app.command("list")
def reasons_list(
    as_json: bool = JSON_OPTION, include_inactive: bool = typer.Option(False, "--all", help="Also the retired texts.")
) -> None:
    """The standard texts, by code."""
    from processors.reasons import list_reasons

    settings = settings_or_exit()
    with database(settings) as session:
        rows = [
            {"code": r.code, "text_en": r.text_en, "text_fr": r.text_fr, "active": r.active, "updated_by": r.updated_by}
            for r in list_reasons(session, include_inactive=include_inactive)
        ]
    emit(
        rows,
        as_json,
        lambda rs: (
            "\n\n".join(f"{r['code']}{'' if r['active'] else ' (retired)'}\n  en: {r['text_en']}\n  fr: {r['text_fr']}" for r in rs)
            or "no standard texts"
        ),
    )


@reasons_app.command("add")
def reasons_add(
    code: str = typer.Argument(...),
    text_en: str = typer.Option(..., "--en", help="The text in English."),
    text_fr: str = typer.Option(..., "--fr", help="The text in French."),
) -> None:
    """Add a standard text in both languages."""
    from processors.reasons import add_reason

    settings = settings_or_exit()
    with database(settings) as session:
        add_reason(session, code, text_en, text_fr, actor=_cli_actor())
    typer.echo(f"standard text {code} added")


@reasons_app.command("edit")
def reasons_edit(
    code: str = typer.Argument(...),
    text_en: str = typer.Option("", "--en", help="A new English text."),
    text_fr: str = typer.Option("", "--fr", help="A new French text."),
    active: bool | None = typer.Option(None, "--active/--retired", help="Offer it again, or retire it."),
) -> None:
    """Change a standard text, or retire it."""
    from processors.reasons import edit_reason

    settings = settings_or_exit()
    with database(settings) as session:
        edit_reason(session, code, actor=_cli_actor(), text_en=text_en or None, text_fr=text_fr or None, active=active)
    typer.echo(f"standard text {code} changed")


@app.command()
def purge(
    dry_run: bool = typer.Option(False, "--dry-run", help="Count what would be purged; change nothing."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Purge personal information past retention (retention.years_after_last_activity, retention.quarantine_days)."""
    from core.blobs import open_blob_store
    from processors.retention import purge as purge_expired

    settings = settings_or_exit()
    try:
        engine = open_database(settings)
        report = purge_expired(engine, settings.retention, open_blob_store(settings, engine), dry_run=dry_run)
    except IntakeError as exc:
        fail(str(exc))
    emit(
        report.counts(),
        as_json,
        lambda c: (
            f"{'would purge' if dry_run else 'purged'}: {c['applications']} application(s), {c['messages']} message(s)"
            + (
                ""
                if dry_run
                else f", {c['submissions']} version(s), {c['notices']} notice(s), {c['blobs']} blob(s) ({c['blob_bytes']} bytes)"
            )
            + f"; {c['held']} on hold"
        ),
    )


@app.command()
def export(
    business_number: str = typer.Option("", "--business-number", help="Every record about this business number."),
    email_address: str = typer.Option("", "--email", help="Every record about this email address."),
    out: Path = typer.Option(..., "--out", help="The zip archive to write."),
) -> None:
    """Answer an access request: one zip archive of every record about an exporter or an address."""
    from core.blobs import open_blob_store
    from processors.export import export_records

    if bool(business_number) == bool(email_address):
        fail("give --business-number BN or --email ADDRESS (one of them)", code=2)
    settings = settings_or_exit()
    engine = open_database(settings)
    with database(settings) as session:
        report = export_records(
            session,
            open_blob_store(settings, engine),
            out,
            business_number=business_number or None,
            email_address=email_address or None,
            actor=_cli_actor(),
        )
    typer.echo(
        f"wrote {out}: {report.applications} application(s), {report.messages} message(s), {report.pdfs} PDF(s), "
        f"{report.notices} notice(s), {report.accounts} account(s), {report.audit_events} audit row(s)"
        + (f"; {report.missing_blobs} file(s) no longer kept" if report.missing_blobs else "")
    )


SUPERVISOR_OPTION = typer.Option(..., "--supervisor", help="The supervisor (an officer account with that role) who decides.")


@app.command()
def hold(
    application_id: int = typer.Argument(..., metavar="ID"),
    supervisor: str = SUPERVISOR_OPTION,
    reason: str = typer.Option("", "--reason", help="Why (kept in the audit trail)."),
) -> None:
    """Keep an application out of every retention purge until released."""
    from processors.retention import set_hold

    settings = settings_or_exit()
    with database(settings) as session:
        set_hold(session, application_id, supervisor=supervisor, hold=True, reason=reason)
    typer.echo(f"application {application_id} is on hold: no purge touches it until it is released")


@app.command()
def release(
    application_id: int = typer.Argument(..., metavar="ID"),
    supervisor: str = SUPERVISOR_OPTION,
    reason: str = typer.Option("", "--reason", help="Why (kept in the audit trail)."),
) -> None:
    """Lift a hold: the application is purged once past retention."""
    from processors.retention import set_hold

    settings = settings_or_exit()
    with database(settings) as session:
        set_hold(session, application_id, supervisor=supervisor, hold=False, reason=reason)
    typer.echo(f"application {application_id} is no longer on hold")


storage_app = typer.Typer(help="Where raw messages and PDFs are kept.", no_args_is_help=True)
app.add_typer(storage_app, name="storage")


@storage_app.command("migrate")
def storage_migrate(to: str = typer.Option(..., "--to", help="database or filesystem.")) -> None:
    """Move every raw message and PDF to the other store, checking each SHA-256 (stop the daemon first)."""
    from core.blobs import BlobStore, DatabaseBlobStore, migrate_blobs

    if to not in ("database", "filesystem"):
        fail(f"--to must be database or filesystem, not {to!r}", code=2)
    settings = settings_or_exit()
    engine = open_database(settings)
    files, rows = BlobStore(settings.blob_dir), DatabaseBlobStore(engine)
    source, target = (files, rows) if to == "database" else (rows, files)
    report = migrate_blobs(source, target)
    typer.echo(
        f"moved {report.moved} blob(s) ({report.bytes} bytes) from the {source.backend} store to the {target.backend} store, "
        f"every SHA-256 checked ({report.already_there} were there already)"
    )
    if report.corrupt:
        fail(f"{len(report.corrupt)} blob(s) did not match their SHA-256 and were left in place: " + ", ".join(report.corrupt))
    if settings.storage.backend != to:
        typer.echo(f'now set storage.backend = "{to}" (or CERS_STORAGE__BACKEND={to}) and start the daemon')


officer_app = typer.Typer(help="Officer accounts for the console.", no_args_is_help=True)
app.add_typer(officer_app, name="officer")
ROLE_OPTION = typer.Option(
    ..., "--role", help="monitor (reads only), officer (decides) or supervisor (also manages accounts, reopens decisions)."
)
PASSWORD_STDIN = typer.Option(False, "--password-stdin", help="Read the password from the first line of standard input instead of asking.")


def _cli_actor() -> str:
    import getpass

    return f"cli:{getpass.getuser()}"


def _new_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(typer.prompt("Password (12 characters or more)", hide_input=True, confirmation_prompt=True))


@officer_app.command("add")
def officer_add(name: str = typer.Argument(...), role: str = ROLE_OPTION, password_stdin: bool = PASSWORD_STDIN) -> None:
    """Add an officer account; the password is asked for (or read from standard input)."""
    from console.officers import add_officer

    settings = settings_or_exit()
    password = _new_password(password_stdin)
    with database(settings) as session:
        officer = add_officer(session, name, _officer_role(role), password, actor=_cli_actor())
    typer.echo(f"officer {officer.name} added as {officer.role.value}")


@officer_app.command("list")
def officer_list(as_json: bool = JSON_OPTION) -> None:
    """Officer accounts with their role, state and last sign-in."""
    from console.officers import is_locked, list_officers

    settings = settings_or_exit()
    with database(settings) as session:
        rows = [
            {"name": o.name, "role": o.role.value, "active": o.active, "locked": is_locked(o), "last_sign_in_at": o.last_sign_in_at}
            for o in list_officers(session)
        ]
    emit(
        rows,
        as_json,
        lambda rs: (
            "\n".join(
                f"{r['name']:<24} {r['role']:<11} {'active' if r['active'] else 'disabled'}{' locked' if r['locked'] else ''}" for r in rs
            )
            or "no officers"
        ),
    )


@officer_app.command("set-role")
def officer_set_role(name: str = typer.Argument(...), role: str = ROLE_OPTION) -> None:
    from console.officers import set_role

    settings = settings_or_exit()
    with database(settings) as session:
        set_role(session, name, _officer_role(role), actor=_cli_actor())
    typer.echo(f"officer {name} is now {role}")


@officer_app.command("password")
def officer_password(name: str = typer.Argument(...), password_stdin: bool = PASSWORD_STDIN) -> None:
    """Set a new password (ends the officer's console sessions and lifts a lock-out)."""
    from console.officers import set_password

    settings = settings_or_exit()
    password = _new_password(password_stdin)
    with database(settings) as session:
        set_password(session, name, password, actor=_cli_actor())
    typer.echo(f"password of {name} changed")


@officer_app.command("disable")
def officer_disable(name: str = typer.Argument(...)) -> None:
    from console.officers import set_active

    settings = settings_or_exit()
    with database(settings) as session:
        set_active(session, name, False, actor=_cli_actor())
    typer.echo(f"officer {name} disabled")


@officer_app.command("enable")
def officer_enable(name: str = typer.Argument(...)) -> None:
    from console.officers import set_active

    settings = settings_or_exit()
    with database(settings) as session:
        set_active(session, name, True, actor=_cli_actor())
    typer.echo(f"officer {name} enabled")


@officer_app.command("unlock")
def officer_unlock(name: str = typer.Argument(...)) -> None:
    from console.officers import unlock

    settings = settings_or_exit()
    with database(settings) as session:
        unlock(session, name, actor=_cli_actor())
    typer.echo(f"officer {name} unlocked")


@officer_app.command("sessions")
def officer_sessions(name: str = typer.Argument(...), as_json: bool = JSON_OPTION) -> None:
    """The officer's console sessions, newest first: active or why they ended (ids shortened: an id is a credential)."""
    from console.officers import get_officer
    from console.sessions import describe, sessions_of

    settings = settings_or_exit()
    with database(settings) as session:
        rows = [describe(row, settings.console) for row in sessions_of(session, get_officer(session, name))]
    emit(
        rows,
        as_json,
        lambda rs: (
            "\n".join(
                f"{r['id']:<10} {'active' if r['active'] else r['revoked_reason']:<22} signed in {r['created_at']:%Y-%m-%d %H:%M} "
                f"last seen {r['last_seen_at']:%Y-%m-%d %H:%M} from {r['client_address'] or '?'} ({r['user_agent'] or '?'})"
                for r in rs
            )
            or f"no sessions for {name}"
        ),
    )


@officer_app.command("sign-out")
def officer_sign_out(name: str = typer.Argument(...)) -> None:
    """End every console session of the officer (sign out everywhere)."""
    from console.officers import sign_out_everywhere

    settings = settings_or_exit()
    with database(settings) as session:
        ended = sign_out_everywhere(session, name, actor=_cli_actor())
    typer.echo(f"officer {name} signed out everywhere: {ended} session(s) ended")


def _officer_role(value: str) -> Any:
    from core.enums import OfficerRole

    try:
        return OfficerRole(value)
    except ValueError:
        fail(f"--role must be monitor, officer or supervisor, not {value!r}", code=2)


def _queue_text(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "no applications"
    lines = [f"{'ID':>5}  {'STATE':<15} {'BUSINESS NUMBER':<16} {'LANG':<4} {'DUE':<10}  LEGAL NAME / FINDINGS"]
    for row in rows:
        errors = sum(1 for f in row["findings"] if f["severity"] == "error")
        note = f"  ({errors} error(s))" if errors else ""
        if row.get("delivery_problem"):
            note += "  (a notice could not be delivered)"
        if row.get("reissue_needed"):
            note += "  (activation code revoked: reissue one)"
        if row.get("related"):
            note += f"  (related to {row['related']['id']}: {row['related']['reason']})"
        lines.append(
            f"{row['id']:>5}  {row['state']:<15} {row['exporter_business_number'] or '-':<16} "
            f"{row['language']:<4} {row['due_on'] or '-':<10}  {row['legal_name'] or '-'}{note}"
        )
    return "\n".join(lines)


def _detail_text(detail: dict[str, Any]) -> str:
    lines = [f"{detail['reference']}  state: {detail['state']}  due: {detail['due_on']}"]
    for key in ("legal_name", "exporter_business_number", "exporter_email", "provider_business_number", "language", "sender"):
        lines.append(f"  {key}: {detail[key] or '-'}")
    if detail.get("related"):
        lines.append(f"  related: application {detail['related']['id']} ({detail['related']['reason']})")
    if detail.get("delivery_problem"):
        lines.append(f"  delivery problem: {detail['delivery_problem']}")
    if detail.get("reissue_needed"):
        lines.append("  reissue needed: the activation code never reached the exporter and was revoked (cers-intake reissue-code ID)")
    if detail["versions"]:
        latest = detail["versions"][-1]
        lines.append(f"fields (version {len(detail['versions'])}, {latest['revision']}, read by {latest['method']}):")
        lines += [f"  {key}: {value if value is not None else '-'}" for key, value in latest["fields"].items()]
    lines.append("findings:" if detail["findings"] else "findings: none")
    lines += [f"  [{f['severity']}] item {f['item']} {f['field']}: {f['message_en']}" for f in detail["findings"]]
    lines.append("notices:")
    lines += [f"  {n['kind']} to {n['to']}: {n['status']}" for n in detail["notices"]]
    lines.append("audit:")
    lines += [f"  {e['at']} {e['actor']} {e['action']} {e['from_state'] or ''}→{e['to_state'] or ''}" for e in detail["audit"]]
    return "\n".join(lines)


def _status_text(summary: dict[str, Any]) -> str:
    queue_line = ", ".join(f"{state} {count}" for state, count in summary["queue"].items())
    outbox = summary["outbox"]
    mailbox = summary.get("mailbox")
    if mailbox is None:
        mailbox_line = "mailbox: not checked"
    elif mailbox["reachable"]:
        mailbox_line = f"mailbox {mailbox['folder']}: {mailbox['messages']} message(s), {mailbox['unseen']} unseen"
    else:
        mailbox_line = f"mailbox {mailbox['folder']}: cannot be reached ({mailbox['error']})"
    extra = []
    if "retrying" in outbox:
        extra.append(
            f"outbox retries: {outbox['retrying']} pending notice(s) failed at least once; "
            f"{outbox['failed_recently']} failed in the last {outbox['failed_window_hours']:g} h; "
            f"applications with a delivery problem: {summary.get('delivery_problems', 0)}"
        )
    if summary.get("alerts"):
        extra.append("alerts: " + "; ".join(f"{a['condition']} ({a['detail']})" for a in summary["alerts"]))
    return "\n".join(
        [
            mailbox_line,
            f"queue: {queue_line}",
            f"oldest open application: {summary['oldest_open_age_business_days']} business day(s); "
            f"past the {summary['service_level_business_days']}-day service level: {summary['past_service_level']}",
            f"outbox: {outbox['pending']} pending, {outbox['failed']} failed, {outbox['sent']} sent",
            f"messages waiting to be processed: {summary['messages_waiting']}",
            f"quarantined: {summary['quarantined_messages']} message(s), {summary['quarantined_attachments']} attachment(s)",
            f"last poll: {summary['last_poll_at'] or 'never'}; last send: {summary['last_send_at'] or 'never'}",
            *extra,
        ]
    )


def main() -> None:
    try:
        app()
    except IntakeError as exc:
        fail(str(exc))


if __name__ == "__main__":
    main()
