"""The console's one translation system: gettext catalogues read with Babel.

The catalogue cannot drift from the sources (every msgid the console's Python and templates use has
its French, and the .po keeps none they no longer use); the French follows the project's typography;
each page is rendered in its own language even when pages in both are rendered at once; and every
console page, rendered in French, shows no English word outside the data it displays.
"""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta
from html import unescape
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from console_support import console_app, console_settings, seed_application, seed_message, sign_in
from fastapi.testclient import TestClient
from jinja2 import DictLoader, Environment, select_autoescape
from sqlmodel import select

from console import vocabulary
from console.i18n import LOCALE_DIR, catalogue_path, install, render_context, translations, words
from console.readable import AUDIT_SENTENCES
from console.routes_decisions import ACTIONS, QUESTIONS
from core.db import session_scope
from core.enums import AppState, MessageKind, NoticeKind, NoticeStatus, OfficerRole
from core.models import AuditEvent, Officer, ReasonText
from demo.samples import plain_email
from outbox.check import ENGLISH_WORDS, french_problems

ROOT = Path(__file__).parent.parent
CONSOLE = ROOT / "console"

# English words of the console's own vocabulary that are not French (whole words, any case), beyond
# outbox.check.ENGLISH_WORDS: one of them in a French page is a string left untranslated
CONSOLE_ENGLISH = re.compile(
    r"\b(with|from|by|of|to|for|is|not|none|never|all|show|sent|waiting|no|approve|approved|reject|rejected|pending|review|queue"
    r"|warning|errors?|take|next|previous|ago|hrs?|days?|received|overdue|today|claim(ed)?|release[ds]?|hold|sign(ed)?|out"
    r"|password|name|legal|state|kind|language|english|french|save|add|enable|disable|unlock|locked|role|supervisor|dashboard"
    r"|correspondence|reply|replies|close[ds]?|cancel|confirm|failed|retrying|healthy|mailbox|poll|quarantine|open"
    r"|filter|related|findings?|value|field|item|where|shown|subject|sender|trail|decide|assign|reason|needs?"
    r"|information|request|provider|checked|attempts?|answers|stale|last|oldest|share|chart|per"
    r"|delivery|problems|alerts?|skip|content|times|level|business|wrong|retired|offered|texts?|change)\b",
    re.I,
)
# words that would be French too, checked with their English capital only
CONSOLE_ENGLISH_CASED = re.compile(r"\b(Part|Active)\b")
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


def _source_messages() -> dict[str, list[str]]:
    """Every msgid (a plural's singular) the console's Python and templates use, with where, as babel.cfg maps them."""
    with (ROOT / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found: dict[str, list[str]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(str(CONSOLE), method_map, options_map):
        msgid = message[0] if isinstance(message, tuple) else message
        if msgid:
            found.setdefault(msgid, []).append(f"console/{filename}:{lineno}")
    return found


def _catalogue(path: Path) -> Catalog:
    with path.open("rb") as po:
        return read_po(po)


def _msgid(message_id: str | tuple[str, ...] | list[str]) -> str:
    """A msgid, or a plural's singular."""
    return message_id if isinstance(message_id, str) else message_id[0]


def _strings(message: Message) -> list[str]:
    """A message's French: one string, or one per plural form."""
    return [message.string] if isinstance(message.string, str) else list(message.string or ())


@pytest.mark.unit
def test_every_msgid_in_the_sources_has_its_french_and_the_catalogue_keeps_no_other() -> None:
    sources = _source_messages()
    catalogue = _catalogue(catalogue_path("fr"))
    untranslated = []
    for msgid, where in sources.items():
        message = catalogue.get(msgid)
        strings = _strings(message) if message else []
        if message is None or message.fuzzy or not strings or not all(strings) or len(strings) != (2 if message.pluralizable else 1):
            untranslated.append(f"{msgid!r} ({where[0]})")
    unused = sorted(_msgid(m.id) for m in catalogue if m.id and _msgid(m.id) not in sources)
    obsolete = sorted(_msgid(m.id) for m in catalogue.obsolete.values())
    assert not untranslated, "msgids without their French (run scripts/translations.sh, then translate):\n  " + "\n  ".join(untranslated)
    assert not unused and not obsolete, f"msgids the console no longer uses (run scripts/translations.sh): {unused + obsolete}"
    template = {_msgid(m.id) for m in _catalogue(LOCALE_DIR / "messages.pot") if m.id}
    assert template == set(sources), f"messages.pot is behind the sources (run scripts/translations.sh): {template ^ set(sources)}"
    assert len(sources) > 250


@pytest.mark.unit
def test_the_french_catalogue_follows_the_typography_and_keeps_every_placeholder() -> None:
    catalogue = _catalogue(catalogue_path("fr"))
    assert catalogue.plural_forms == "nplurals=2; plural=(n > 1);"
    problems = [f"{_msgid(message.id)!r}: {errors}" for message, errors in catalogue.check()]  # python-format placeholders
    for message in catalogue:
        for text in _strings(message):
            if message.id and text:
                problems += [f"{text!r}: {problem}" for problem in french_problems(PLACEHOLDER.sub("X", text))]
    assert not problems, "\n".join(problems)


@pytest.mark.unit
def test_french_plurals_put_zero_and_one_in_the_singular() -> None:
    french, english = words("fr"), words("en")
    assert [french.ngettext("%(num)d error", "%(num)d errors", n) for n in (0, 1, 2)] == ["0 erreur", "1 erreur", "2 erreurs"]
    assert [english.ngettext("%(num)d error", "%(num)d errors", n) for n in (0, 1, 2)] == ["0 errors", "1 error", "2 errors"]
    assert french.gettext("%(count)s of %(total)s", count=3, total=9) == "3 sur 9"
    assert translations("fr") is translations("fr")  # compiled once


@pytest.mark.unit
def test_a_shared_environment_renders_each_page_in_its_own_language_at_once() -> None:
    environment = Environment(
        loader=DictLoader(
            {
                "page.html": '{{ _("Queue") }} | {{ ngettext("%(num)d error", "%(num)d errors", n) }}'
                ' | {{ _("Saved: %(name)s.", name=who) }}{% include "part.html" %}',
                "part.html": ' | {% for s in ["approved"] %}{{ _(STATES[s]) }}{% endfor %}',
            }
        ),
        autoescape=select_autoescape(default_for_string=True, default=True),
    )
    install(environment)
    environment.globals.update(vocabulary.NAMES)
    expected = {
        "en": "Queue | 1 error | Saved: &lt;b&gt;. | Approved",
        "fr": "File d'attente | 1 erreur | Enregistré\u00a0: &lt;b&gt;. | Approuvée",
    }
    barrier = threading.Barrier(8)
    wrong: list[str] = []

    def render(language: str) -> None:
        template = environment.get_template("page.html")
        barrier.wait()
        for _ in range(200):
            text = template.render(**render_context(language), n=1, who="<b>")
            if text != expected[language]:
                wrong.append(f"{language}: {text}")

    threads = [threading.Thread(target=render, args=(language,)) for language in ("en", "fr") * 4]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not wrong, wrong[:3]
    # without a catalogue in its context a template speaks English (the msgids)
    assert environment.get_template("page.html").render(n=2, who="x").startswith("Queue | 2 errors")


@pytest.mark.unit
def test_every_fixed_value_has_a_name() -> None:
    assert set(vocabulary.STATES) == {s.value for s in AppState}
    assert set(vocabulary.NOTICE_KINDS) == {k.value for k in NoticeKind}
    assert set(vocabulary.NOTICE_STATUSES) == {s.value for s in NoticeStatus}
    assert set(vocabulary.ROLES) == set(vocabulary.ROLE_NAMES) == {r.value for r in OfficerRole}
    assert set(vocabulary.ACTIONS) == set(QUESTIONS) == {a.name for a in ACTIONS.values()}
    french = words("fr")
    for names in (*vocabulary.NAMES.values(), AUDIT_SENTENCES, QUESTIONS):
        for msgid in names.values():
            assert french.catalogue.gettext(msgid) != msgid or msgid in ("Version", "Code", "Pages", "Date", "Sessions"), msgid


def _visible_text(html: str) -> str:
    """What a reader sees or hears of a page, data containers left out: raw headers, bodies and values
    (<code>, <pre>, <q>, <textarea>, <option>) and anything marked as English (lang="en")."""
    html = re.sub(r"<(script|style|code|pre|q|textarea|option)\b[^>]*>.*?</\1>", " ", html, flags=re.S)
    html = re.sub(r'<(\w+)[^>]*\blang="en"[^>]*>.*?</\1>', " ", html, flags=re.S)
    said = " ".join(re.findall(r'\b(?:title|alt|aria-label|placeholder)="([^"]*)"', html))
    text = re.sub(r"<[^>]+>", " ", html) + " " + said
    return re.sub(r"\s+", " ", unescape(text))


DATA = [  # values a French page shows as they are: names, addresses, references
    "Érable Exports Ltée",
    "Bleuets du Nord",
    "exports@erable.example",
    "claire.roy@erable.example",
    "writer@example.ca",
    "BSF831 application",
    "acroform",
    "bsf831-en",
    "America/Toronto",
    "/healthz",
    "INBOX",
    "En-tête From",  # the header's name
]


def _english_words(html: str) -> list[str]:
    text = _visible_text(html)
    for value in DATA:
        text = text.replace(value, " ")
    found = {m.group(0).lower() for m in ENGLISH_WORDS.finditer(text)} | {m.group(0).lower() for m in CONSOLE_ENGLISH.finditer(text)}
    found |= {m.group(0) for m in CONSOLE_ENGLISH_CASED.finditer(text)}
    return sorted(found)


@pytest.mark.unit
def test_the_english_word_check_finds_an_untranslated_string() -> None:
    assert _english_words("<p>Décidées en 5\u00a0jours ouvrables</p>") == []
    assert _english_words("<p>Demande <span>Pending review</span></p>") == ["pending", "review"]
    assert _english_words('<img alt="Part C of 2">') == ["Part", "of"]
    assert _english_words('<p><span lang="en">Sent</span> <code>From: x</code> Érable Exports Ltée</p>') == []


def test_every_console_page_in_french_shows_no_english_word(tmp_path: Path) -> None:
    settings = console_settings(tmp_path, CERS_MONITOR__IMAP_STATUS_TIMEOUT="0.5", CERS_CONSOLE__SIGN_IN_LIMIT_PER_NAME="3/minute")
    app, engine = console_app(settings)
    now = datetime.now(UTC)
    pending = seed_application(engine, findings=2, received=now - timedelta(days=12))
    seed_application(engine, name="Bleuets du Nord", bn="876543216RM0001", provider="876543216RM0002", received=now - timedelta(days=1))
    approved = seed_application(engine, state=AppState.approved, bn="123456782RM0003")
    rejected = seed_application(engine, state=AppState.rejected, bn="123456782RM0004")
    needs_info = seed_application(engine, state=AppState.needs_info, bn="123456782RM0005", language="fr")
    raw = plain_email(sender="writer@example.ca", subject="BSF831 application", body="Bonjour, une question.")
    item = seed_message(engine, app.state.console.blobs, raw, sender="writer@example.ca", kind=MessageKind.correspondence, uid=99)
    with session_scope(engine) as db:
        db.add(ReasonText(code="missing_bn", text_en="The business number is missing.", text_fr="Le NE manque.", updated_by="sam"))
        for action in [*AUDIT_SENTENCES, "form_received"]:
            db.add(AuditEvent(application_id=pending, actor="cers-intake", action=action, to_state="pending_review"))
        officer = db.exec(select(Officer).where(Officer.name == "omar")).one()
        officer.locked_until, officer.last_sign_in_at = now + timedelta(hours=1), now - timedelta(days=2)
        db.add(officer)

    client = TestClient(app)
    client.post("/language", data={"csrf_token": _csrf(client.get("/sign-in").text), "lang": "fr", "back": "/sign-in"})
    pages = {"/sign-in": client.get("/sign-in").text}
    token = sign_in(client, "sam")
    client.post(f"/applications/{pending}/claim", data={"csrf_token": token})
    pages["/queue (flash)"] = client.get("/queue").text  # the claim's flash message
    for path in (
        "/queue",
        f"/queue?related={pending}",
        f"/applications/{pending}",
        f"/applications/{approved}",
        f"/applications/{rejected}",
        f"/applications/{needs_info}",
        "/dashboard",
        "/correspondence",
        "/correspondence?closed=true",
        f"/correspondence/{item}",
        "/officers",
        "/reasons",
        "/applications/999999",
    ):
        pages[path] = client.get(path).text
    for action, application_id in (("approve", pending), ("reject", pending), ("request-info", pending), ("reissue-code", approved)):
        pages[f"confirm {action}"] = client.post(f"/applications/{application_id}/{action}", data={"csrf_token": token}).text
    pages["confirm reopen"] = client.post(f"/applications/{rejected}/reopen", data={"csrf_token": token, "reason": "Erreur"}).text
    client.post(f"/applications/{pending}/hold", data={"csrf_token": token})
    pages["held (flash)"] = client.get(f"/applications/{pending}").text
    client.post("/sign-out", data={"csrf_token": token})
    token = _csrf(client.get("/sign-in").text)
    for _ in range(4):
        refused = client.post("/sign-in", data={"name": "nobody", "password": "wrong password", "csrf_token": token})
        pages[f"sign-in {refused.status_code}"] = refused.text
    assert {"sign-in 401", "sign-in 429"} <= set(pages)
    sign_in(client, "mona")
    pages["403"] = client.get("/officers").text

    found = {}
    for where, html in pages.items():
        assert '<html lang="fr">' in html, where
        if words := _english_words(html.replace(_other_language_paragraph(html), "")):
            found[where] = words
    assert not found, found


def _other_language_paragraph(html: str) -> str:
    """The too-many-sign-ins page says it in both languages; the English one is marked lang="en"."""
    match = re.search(r'<p class="flash error" lang="en">.*?</p>', html, flags=re.S)
    return match.group(0) if match else "\x00"


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)
