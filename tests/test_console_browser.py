"""The console in a real browser: sign in, the queue, an approval, a rejection, a request for information
and a correspondence reply, then what the applicants receive at the SMTP server."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path

import pytest
from console_browser import served, shot
from console_support import PASSWORD, SECRET, password_hash
from flow import flow_settings, parsed, run_until_idle, text_of
from playwright.sync_api import Browser, expect
from servers import ImapAccount, imap_append

import processors.decisions
from app.runner import Runner
from console.app import create_app
from core.db import session_scope
from core.enums import OfficerRole
from core.models import Officer
from demo.forms import fill_form, sample_values
from demo.mailservers import SmtpSink
from demo.samples import application_email, plain_email

CODE = "QRST-UVWX-YZ23-4567"
AUTH_RESULTS = "mx.cbsa-asfc.example; dkim=pass header.d=erable.example; spf=pass smtp.mailfrom=erable.example"
APPLICANTS = [
    # (sender, exporter BN, legal name, exporter email, application date)
    ("Claire Roy <claire.roy@erable.example>", "123456782RM0001", "Érable Exports Ltée", "exports@erable.example", None),
    ("Ana Lima <ana@bleuets.example>", "876543216RM0001", "Bleuets du Nord Inc.", "export@bleuets.example", None),
    (
        "Raj Patel <raj@northfreight.example>",
        "555555556RM0001",
        "North Freight Ltd.",
        "export@northfreight.example",
        date.today() - timedelta(days=200),
    ),
]


def drive(runner: Runner) -> None:
    """run_until_idle in a thread of its own: Playwright's event loop holds this one."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(run_until_idle, runner).result()


def mail_to(sink: SmtpSink, address: str, count: int) -> list[str]:
    """The text of every message to address, once at least `count` messages arrived in all."""
    return [text_of(parsed(raw)) for _, rcpts, raw in sink.wait_for(count) if rcpts == [address]]


def test_officer_decides_in_the_browser_and_applicants_receive_it(
    tmp_path: Path,
    pymap_server: ImapAccount,
    smtp_sink: SmtpSink,
    browser: Browser,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    runner = Runner(flow_settings(tmp_path / "var", pymap_server, smtp_sink))
    for sender, bn, name, email, applied in APPLICANTS:
        values = {**sample_values("valid"), "exporter.business_number": bn, "exporter.legal_name": name, "exporter.email": email}
        if applied:
            values["application_date"] = applied.isoformat()
        imap_append(
            pymap_server, application_email(fill_form(values), sender=sender, extra_headers={"Authentication-Results": AUTH_RESULTS})
        )
    imap_append(
        pymap_server, plain_email(sender="ahmed@northfreight.example", subject="Activation code expired", body="Please send a new code.")
    )
    drive(runner)
    acknowledged = len(smtp_sink.wait_for(4))
    with session_scope(runner.engine) as db:
        db.add(Officer(name="olga", role=OfficerRole.officer, password_hash=password_hash()))
        db.add(Officer(name="sam", role=OfficerRole.supervisor, password_hash=password_hash()))
    monkeypatch.setattr(processors.decisions, "new_activation_code", lambda: CODE)
    app = create_app(runner.settings, runner.engine, secret_key=SECRET)
    pages: list[str] = []

    with served(app) as base:
        page = browser.new_page(viewport={"width": 1366, "height": 900})

        # sign in with the keyboard only
        page.goto(f"{base}/queue")
        expect(page).to_have_url(f"{base}/sign-in")
        shot(page, "01-sign-in")
        expect(page.locator("#name")).to_be_focused()
        page.keyboard.type("olga")
        page.keyboard.press("Tab")
        page.keyboard.type(PASSWORD)
        page.keyboard.press("Enter")
        expect(page).to_have_url(f"{base}/queue")
        page.keyboard.press("Tab")
        expect(page.locator("a.skip")).to_be_focused()  # the first stop skips to the content

        # the queue: oldest first, three pending, age and due date shown
        rows = page.locator("table.queue tbody tr")
        expect(rows).to_have_count(3)
        expect(rows.nth(0)).to_contain_text("Érable Exports Ltée")
        expect(rows.nth(0)).to_contain_text("Pending review")
        expect(rows.nth(2)).to_contain_text("1 warning")
        shot(page, "02-queue")
        pages.append(page.content())
        page.fill("input[name=q]", "876543216")
        page.click("button:has-text('Filter')")
        expect(rows).to_have_count(1)
        expect(rows.nth(0)).to_contain_text("Bleuets du Nord")
        page.goto(f"{base}/queue")

        # an approval: fields beside the PDF, the email with its authentication results, then confirm
        page.click("text=CERS-000001")
        expect(page.locator("h1")).to_contain_text("CERS-000001")
        expect(page.locator("section.fields")).to_contain_text("Érable Exports Ltée")
        expect(page.locator("section.fields")).to_contain_text("123456782RM0001")
        expect(page.locator("a.pdf-link")).to_have_attribute("href", re.compile(r"/applications/1/versions/\d+/pdf"))
        expect(page.locator(".page-image img")).to_have_count(2)  # drawn on the server: no PDF plugin needed
        expect(page.locator("dl.mail").first).to_contain_text("dkim=pass")
        pdf = page.request.get(base + (page.locator("a.pdf-link").get_attribute("href") or ""))
        assert pdf.ok and pdf.headers["content-type"] == "application/pdf" and pdf.body().startswith(b"%PDF-")
        shot(page, "03-application")
        page.click("button:has-text('Approve…')")
        expect(page.locator("h1")).to_contain_text("Confirm")
        expect(page.locator("form.confirm")).to_contain_text("exports@erable.example")
        shot(page, "04-confirm-approval")
        page.click("button:has-text('Confirm: Approve')")
        flash = page.locator(".flash").first
        expect(flash).to_contain_text("Authorization ID:")
        authorization_id = re.search(r"Authorization ID: ([A-Z]{2}\d{4})", flash.inner_text()).group(1)  # type: ignore[union-attr]
        expect(page).to_have_url(f"{base}/applications/2")  # after a decision: the next one, claimed
        pages.append(page.content())
        page.goto(f"{base}/applications/1")
        expect(page.locator("h1")).to_contain_text("Approved")
        expect(page.locator("section[aria-labelledby=audit-h]")).to_contain_text("olga")
        shot(page, "05-approved")
        page.reload()
        expect(page.locator(".flash")).to_have_count(0)  # the authorization ID is shown once
        pages.append(page.content())

        # a rejection with a reason
        page.goto(f"{base}/applications/2")
        page.fill("#reject-reason", "The exporter is not registered for the RM program.")
        page.fill("#reject-reason-fr", "L'exportateur n'est pas inscrit au programme RM.")
        page.click("button:has-text('Reject…')")
        expect(page.locator("#text")).to_have_value("The exporter is not registered for the RM program.")
        page.click("button:has-text('Confirm: Reject')")
        expect(page).to_have_url(f"{base}/applications/3")
        page.goto(f"{base}/applications/2")
        expect(page.locator("h1")).to_contain_text("Rejected")
        pages.append(page.content())

        # a request for information, prefilled from the findings in both languages, edited
        page.goto(f"{base}/applications/3")
        expect(page.locator("tr.finding-warning")).to_have_count(1)
        message = page.locator("#info-message")
        expect(message).to_contain_text("Item")
        message_fr = page.locator("#info-message-fr")
        expect(message_fr).to_contain_text("Champ")
        message.fill(message.input_value() + "\nPlease confirm the application date.")
        message_fr.fill(message_fr.input_value() + "\nVeuillez confirmer la date de la demande.")
        page.click("button:has-text('Request information…')")
        shot(page, "06-confirm-request-info")
        page.click("button:has-text('Confirm: Request information')")
        expect(page).to_have_url(f"{base}/queue")  # nothing left to take
        page.goto(f"{base}/applications/3")
        expect(page.locator("h1")).to_contain_text("Needs information")
        pages.append(page.content())

        # correspondence: reply, then close
        page.goto(f"{base}/correspondence")
        page.click("text=Activation code expired")
        expect(page.locator("pre.body")).to_contain_text("Please send a new code.")
        page.fill("#reply", "Write from the exporter email on your approved form and we will send a new code.")
        page.fill("#reply-fr", "Écrivez-nous à partir de l'adresse de l'exportateur inscrite sur le formulaire approuvé.")
        page.click("button:has-text('Reply')")
        expect(page.locator(".flash")).to_contain_text("ahmed@northfreight.example")
        shot(page, "07-correspondence")
        page.click("button:has-text('Close')")
        expect(page.locator("main")).to_contain_text("No open correspondence")

        # the monitor's dashboard
        page.goto(f"{base}/dashboard")
        expect(page.locator("h1")).to_have_text("Dashboard")
        shot(page, "08-dashboard")

        # French
        page.goto(f"{base}/queue")
        page.click("button:has-text('Français')")
        expect(page.locator("h1")).to_have_text("File d'attente")
        expect(page.locator("html")).to_have_attribute("lang", "fr")
        shot(page, "09-queue-fr")
        pages.append(page.content())
        page.goto(f"{base}/applications/1")
        expect(page.locator("h1")).to_contain_text("Approuvée")
        pages.append(page.content())

        # a supervisor: accounts, and reopening the rejection
        page.click("button:has-text('Fermer la session')")
        expect(page).to_have_url(f"{base}/sign-in")
        page.click("button:has-text('English')")
        page.fill("#name", "sam")
        page.fill("#password", PASSWORD)
        page.click("main button:has-text('Sign in')")
        page.goto(f"{base}/officers")
        expect(page.locator("table")).to_contain_text("olga")
        shot(page, "10-officers")
        page.goto(f"{base}/applications/2")
        page.fill("#reopen-reason", "The applicant sent proof of the RM account.")
        page.click("button:has-text('Reopen…')")
        page.click("button:has-text('Confirm: Reopen')")
        expect(page.locator("h1")).to_contain_text("Pending review")
        pages.append(page.content())

    drive(runner)
    total = acknowledged + 4
    (activation,) = [text for text in mail_to(smtp_sink, "exports@erable.example", total) if "Activation code:" in text]
    assert f"Authorization ID: {authorization_id}" in activation and CODE in activation
    assert any("not registered for the RM program" in text for text in mail_to(smtp_sink, "ana@bleuets.example", total))
    assert any("Please confirm the application date." in text for text in mail_to(smtp_sink, "raj@northfreight.example", total))
    assert any("we will send a new code" in text for text in mail_to(smtp_sink, "ahmed@northfreight.example", total))
    assert all(CODE not in text for text in mail_to(smtp_sink, "claire.roy@erable.example", total))
    assert all(CODE not in html for html in pages)
    out, err = capfd.readouterr()
    assert "application approved" in out + err  # the logs were captured
    assert CODE not in out + err
