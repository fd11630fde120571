"""The cers-intake command line."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn, Optional

import typer
from sqlmodel import Session

from core.db import make_engine, migrate, session_scope
from core.errors import IntakeError
from core.log import configure_logging
from core.models import AppState
from core.settings import Settings, load_settings

app = typer.Typer(help="Email intake for the CBSA Exporter reporting application form (BSF831).", no_args_is_help=True, add_completion=False)
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
        engine = make_engine(settings)
        migrate(engine)
        with session_scope(engine) as session:
            yield session
    except IntakeError as exc:
        fail(str(exc))


def emit(data: Any, as_json: bool, text: Callable[[Any], str]) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str) if as_json else text(data))


@app.command()
def run(once: bool = typer.Option(False, "--once", help="One full pass of intake, processing and sending, then exit.")) -> None:
    """Run the daemon: fetch new mail, process it, send the answers."""
    from core.runner import Runner

    settings = settings_or_exit()
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
    state: Optional[AppState] = typer.Option(None, "--state", help="Only applications in this state."),
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
def approve(application_id: int = typer.Argument(..., metavar="ID"), officer: str = OFFICER_OPTION) -> None:
    """Approve: issue the authorization ID and send the activation code to the form's exporter email."""
    from processors.decisions import approve as approve_application

    settings = settings_or_exit()
    with database(settings) as session:
        approval = approve_application(session, settings, application_id, officer=officer)
    typer.echo(
        f"application {approval.application_id} approved: authorization ID {approval.authorization_id}; "
        f"activation code queued for the exporter's email (valid until {approval.code_expires_at.date()})"
    )
    if approval.association:
        typer.echo(f"association recorded: {approval.association}")


@app.command()
def reject(
    application_id: int = typer.Argument(..., metavar="ID"),
    officer: str = OFFICER_OPTION,
    reason: str = typer.Option(..., "--reason", help="Sent to the applicant."),
) -> None:
    """Reject an application with a reason sent to the applicant."""
    from processors.decisions import reject as reject_application

    settings = settings_or_exit()
    with database(settings) as session:
        reject_application(session, settings, application_id, officer=officer, reason=reason)
    typer.echo(f"application {application_id} rejected; the reason is queued for the applicant")


@app.command("request-info")
def request_info(
    application_id: int = typer.Argument(..., metavar="ID"),
    officer: str = OFFICER_OPTION,
    message: str = typer.Option(..., "--message", help="Sent to the applicant."),
) -> None:
    """Ask the applicant for more information; the application goes back to needs_info."""
    from processors.decisions import request_info as request_information

    settings = settings_or_exit()
    with database(settings) as session:
        request_information(session, settings, application_id, officer=officer, message=message)
    typer.echo(f"application {application_id} needs information; the message is queued for the applicant")


@app.command()
def status(as_json: bool = JSON_OPTION) -> None:
    """The backlog at a glance: queue by state, age against the service level, outbox, quarantine."""
    from processors.queue import status_summary

    settings = settings_or_exit()
    with database(settings) as session:
        summary = status_summary(session)
    emit(summary, as_json, _status_text)


@app.command()
def demo(once: bool = typer.Option(False, "--once", help="Seed, run one pass, print the queue and stop.")) -> None:
    """Run against an embedded local IMAP server and SMTP sink, seeded with sample applications."""
    from demo.run import run_demo

    settings = settings_or_exit()
    try:
        run_demo(settings, once=once)
    except IntakeError as exc:
        fail(str(exc))


def _queue_text(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "no applications"
    lines = [f"{'ID':>5}  {'STATE':<15} {'BUSINESS NUMBER':<16} {'LANG':<4} {'DUE':<10}  LEGAL NAME / FINDINGS"]
    for row in rows:
        errors = sum(1 for f in row["findings"] if f["severity"] == "error")
        note = f"  ({errors} error(s))" if errors else ""
        lines.append(
            f"{row['id']:>5}  {row['state']:<15} {row['exporter_business_number'] or '-':<16} "
            f"{row['language']:<4} {row['due_on'] or '-':<10}  {row['legal_name'] or '-'}{note}"
        )
    return "\n".join(lines)


def _detail_text(detail: dict[str, Any]) -> str:
    lines = [f"{detail['reference']}  state: {detail['state']}  due: {detail['due_on']}"]
    for key in ("legal_name", "exporter_business_number", "exporter_email", "provider_business_number", "language", "sender"):
        lines.append(f"  {key}: {detail[key] or '-'}")
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
    return "\n".join(
        [
            f"queue: {queue_line}",
            f"oldest open application: {summary['oldest_open_age_business_days']} business day(s); "
            f"past the {summary['service_level_business_days']}-day service level: {summary['past_service_level']}",
            f"outbox: {outbox['pending']} pending, {outbox['failed']} failed, {outbox['sent']} sent",
            f"quarantined messages: {summary['quarantined_messages']}",
            f"last poll: {summary['last_poll_at'] or 'never'}; last send: {summary['last_send_at'] or 'never'}",
        ]
    )


def main() -> None:
    try:
        app()
    except IntakeError as exc:
        fail(str(exc))


if __name__ == "__main__":
    sys.exit(main())
