"""Every console page in English and French through axe-core (WCAG 2.1 AA) in Debian's Chromium, with
0 violations; a keyboard-only walk from the queue to a decision; screenshots of the queue, an
application with its findings outlined on the page image, and the dashboard, in both languages."""

from __future__ import annotations

import re
from pathlib import Path

from console_browser import SCREENSHOTS, served
from console_support import PASSWORD, console_app, console_settings, seed_application
from playwright.sync_api import Browser, Page, expect
from sqlmodel import select

from core.db import session_scope
from core.models import Submission
from demo.forms import fill_form, sample_values

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def violations(page: Page) -> list[str]:
    page.add_script_tag(content=AXE.read_text())
    result = page.evaluate("async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}})", TAGS)
    assert len(result["passes"]) > 10  # axe did check the page
    return [f"{v['id']}: {v['help']} ({[n['target'] for n in v['nodes']][:3]})" for v in result["violations"]]


def sign_in(page: Page, base: str, name: str) -> None:
    page.goto(f"{base}/sign-in")
    page.fill("#name", name)
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    expect(page).to_have_url(f"{base}/queue")


def test_every_page_passes_axe_in_both_languages_and_the_keyboard_decides(tmp_path: Path, browser: Browser) -> None:
    settings = console_settings(tmp_path, CERS_MONITOR__IMAP_STATUS_TIMEOUT="0.5")
    app, engine = console_app(settings)
    blobs = app.state.console.blobs
    first = seed_application(engine, findings=1)
    second = seed_application(engine, name="Bleuets du Nord", bn="876543216RM0001")
    third = seed_application(engine, name="Érable Exports Ltée")
    pdf = fill_form({**sample_values("valid"), "exporter.business_number": "123456782RM0002"})
    digest = blobs.put(pdf, ".pdf")
    with session_scope(engine) as db:
        for submission in db.exec(select(Submission)):
            submission.sha256 = digest
            submission.provenance = {"exporter.business_number": "acroform:BSF831[0].Page1[0].PartA[0].BusinessNumber[0]"}
            db.add(submission)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with served(app) as base:
        # axe is injected as a script: the test's context lets it past the console's Content-Security-Policy
        page = browser.new_context(bypass_csp=True, viewport={"width": 1366, "height": 900}).new_page()
        sign_in(page, base, "sam")
        paths = ["/queue", f"/applications/{first}", f"/applications/{third}", "/dashboard", "/correspondence", "/officers", "/reasons"]
        found: dict[str, list[str]] = {}
        for language in ("en", "fr"):
            for path in paths:
                page.goto(base + path)
                expect(page.locator("html")).to_have_attribute("lang", language)
                found[f"{language} {path}"] = violations(page)
                if path in ("/queue", f"/applications/{first}", "/dashboard"):
                    name = {"/queue": "queue", "/dashboard": "dashboard"}.get(path, "application-findings-outlined")
                    page.screenshot(path=str(SCREENSHOTS / f"desk-{name}-{language}.png"), full_page=True)
                if path == f"/applications/{first}":
                    expect(page.locator(".page-image .mark.error")).to_have_count(1)  # item 6 outlined on page 1
            page.goto(f"{base}/queue")
            page.click("header form[action='/language'] button")
        page.goto(f"{base}/sign-in")
        found["en /sign-in (signed in)"] = violations(page)
        assert {where: v for where, v in found.items() if v} == {}
        page.close()

        # the keyboard only, Tab and Enter as a sighted keyboard user presses them: from the queue to two decisions
        page = browser.new_page(viewport={"width": 1366, "height": 900})
        sign_in(page, base, "olga")
        if page.locator("html").get_attribute("lang") == "fr":
            page.click("header form[action='/language'] button")
        page.goto(f"{base}/queue")
        keys = tab_to(page, "#take-next") + enter(page)  # take the next: claimed and opened
        expect(page).to_have_url(f"{base}/applications/{first}")
        keys += tab_to(page, "form[action$='/request-info'] button[type=submit]") + enter(page)  # its finding, prefilled
        expect(page.locator("h1")).to_contain_text("Confirm")
        keys += tab_to(page, "form.confirm button[type=submit]") + enter(page)
        expect(page.locator(".flash").first).to_contain_text("needs information")
        expect(page).to_have_url(re.compile(rf"{base}/applications/{second}$"))  # landed on the next one, claimed
        first_decision = keys
        keys += tab_to(page, "aside.decide button.primary") + enter(page)  # Approve…
        keys += tab_to(page, "form.confirm button[type=submit]") + enter(page)
        expect(page.locator(".flash").first).to_contain_text("approved")
        print(f"keyboard: {first_decision} key presses from the queue to the first decision, {keys - first_decision} to the next")


def tab_to(page: Page, selector: str, limit: int = 60) -> int:
    """Press Tab until the focused element matches selector; the presses (0 when it already has the focus)."""
    for presses in range(limit + 1):
        if page.evaluate("(s) => document.activeElement !== null && document.activeElement.matches(s)", selector):
            return presses
        page.keyboard.press("Tab")
    raise AssertionError(f"{selector} is not reached with {limit} presses of Tab")


def enter(page: Page) -> int:
    """Press Enter on a control that submits its form, and wait for the page it leads to."""
    with page.expect_navigation():
        page.keyboard.press("Enter")
    return 1
