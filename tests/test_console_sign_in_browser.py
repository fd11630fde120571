"""Sign-in and sessions in a real browser (Debian's Chromium): a cookie kept from before sign-out is
refused, every failure reads the same, the 429 page in both languages, a supervisor sees locked
accounts and signs an officer out everywhere."""

from __future__ import annotations

from pathlib import Path

from console_browser import served, shot
from console_support import PASSWORD, console_app, console_settings
from playwright.sync_api import Browser, Page, expect


def sign_in(page: Page, base: str, name: str, password: str = PASSWORD) -> None:
    page.goto(f"{base}/sign-in")
    page.fill("#name", name)
    page.fill("#password", password)
    page.click("main button[type=submit]")


def test_sessions_and_sign_in_failures_in_the_browser(tmp_path: Path, browser: Browser) -> None:
    app, _ = console_app(
        console_settings(tmp_path / "var", CERS_CONSOLE__SECURE_COOKIES="true", CERS_CONSOLE__SIGN_IN_LIMIT_PER_NAME="8/minute")
    )
    with served(app) as base:
        # a cookie saved before sign-out is refused afterwards
        olga = browser.new_context()
        page = olga.new_page()
        sign_in(page, base, "olga")
        expect(page).to_have_url(f"{base}/queue")
        saved = olga.cookies()
        assert [c["name"] for c in saved if c["name"] == "cers_console"] and all(c["secure"] for c in saved)
        page.click("button:has-text('Sign out')")
        expect(page).to_have_url(f"{base}/sign-in")
        thief = browser.new_context()
        thief.add_cookies(saved)  # type: ignore[arg-type]
        stolen = thief.new_page()
        stolen.goto(f"{base}/queue")
        expect(stolen).to_have_url(f"{base}/sign-in")
        thief.close()

        # every failure reads the same: unknown name, wrong password
        texts = []
        for name, password in (("nobody", "wrong password"), ("omar", "wrong password")):
            sign_in(page, base, name, password)
            texts.append(page.locator("p.flash.error").inner_text())
        assert texts[0] == texts[1] and texts[0].startswith("Sign-in refused")
        shot(page, "11-sign-in-refused")
        page.click("button:has-text('Français')")
        sign_in(page, base, "nobody", "wrong password")
        refused_fr = page.locator("p.flash.error").inner_text()
        assert refused_fr.startswith("Ouverture de session refusée\u00a0:")
        page.click("button:has-text('English')")

        # a supervisor sees the locked account, and signs an officer out everywhere
        for n in range(5):
            sign_in(page, base, "olga", f"wrong password {n}")
        omar = browser.new_context().new_page()
        sign_in(omar, base, "omar")
        expect(omar).to_have_url(f"{base}/queue")
        sign_in(page, base, "sam")
        page.goto(f"{base}/officers")
        expect(page.locator("main")).to_contain_text("Locked accounts: olga")
        expect(page.locator("tr.locked")).to_have_count(1)
        expect(page.locator("tr.locked th")).to_have_text("olga")
        shot(page, "12-officers-locked")
        page.locator("form[action='/officers/omar/sign-out'] button").click()
        expect(page.locator(".flash").first).to_contain_text("omar is signed out everywhere (1 session ended)")
        omar.goto(f"{base}/queue")
        expect(omar).to_have_url(f"{base}/sign-in")

        # too many attempts for one name: the 429 page, in both languages
        stranger = browser.new_context().new_page()
        for _ in range(9):
            sign_in(stranger, base, "target", "wrong password")
        expect(stranger.locator("h1")).to_have_text("Too many sign-in attempts")
        expect(stranger.locator("main")).to_contain_text("Trop de tentatives d'ouverture de session")
        shot(stranger, "13-too-many-sign-ins")
        response = stranger.request.post(f"{base}/sign-in", form={"name": "target", "password": "x", "csrf_token": "x"})
        assert response.status == 403  # without the page's CSRF token: refused before any count
