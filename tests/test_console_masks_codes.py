"""Issue 12 item 9b: an applicant who quotes the activation notice back never shows the code in the console."""

from __future__ import annotations

import re
from pathlib import Path

from console_support import console_app, console_settings, sign_in
from fastapi.testclient import TestClient
from flow import flow_settings, parsed, run_until_idle, text_of
from servers import ImapAccount, imap_append
from sqlmodel import Session, select

from app.runner import Runner
from core.db import session_scope
from core.enums import MessageKind
from core.models import InboundMessage
from demo.forms import fill_form, sample_values
from demo.mailservers import SmtpSink
from demo.samples import application_email, plain_email
from processors.decisions import approve

ROLES = ("sam", "olga", "omar", "mona")


def test_a_quoted_activation_code_is_masked_on_every_page_for_every_role(
    tmp_path: Path, pymap_server: ImapAccount, smtp_sink: SmtpSink
) -> None:
    runner = Runner(flow_settings(tmp_path / "var", pymap_server, smtp_sink))
    imap_append(pymap_server, application_email(fill_form(sample_values("valid")), sender="Claire Roy <exports@erable.example>"))
    run_until_idle(runner)
    with session_scope(runner.engine) as session:
        approve(session, runner.settings, 1, officer="olga")
    run_until_idle(runner)

    (activation,) = [parsed(raw) for _, _, raw in smtp_sink.wait_for(2) if "Activation code:" in text_of(parsed(raw))]
    body = text_of(activation)
    code = re.search(r"Activation code: ([A-Z0-9-]+)", body).group(1)  # type: ignore[union-attr]
    quoted = "\n".join(f"> {line}" for line in body.splitlines())
    reply = plain_email(
        sender="Claire Roy <exports@erable.example>",
        subject=f"Re: {activation['Subject']}",
        body=f"Hello,\n\nThe portal refuses my code {code} and also {code.replace('-', '').lower()}. Can you help?\n\n{quoted}\n",
        extra_headers={"In-Reply-To": activation["Message-ID"], "References": activation["Message-ID"]},
    )
    imap_append(pymap_server, reply)
    run_until_idle(runner)
    with Session(runner.engine) as session:
        item = session.exec(select(InboundMessage).where(InboundMessage.kind == MessageKind.correspondence)).one()

    app, _ = console_app(console_settings(tmp_path / "var"))
    compact = code.replace("-", "")
    for role in ROLES:
        client = TestClient(app)
        sign_in(client, role)
        for path in ("/correspondence", f"/correspondence/{item.id}", "/applications/1", "/queue"):
            html = client.get(path).text
            assert "portal refuses my code" in html or path != f"/correspondence/{item.id}", f"{role} {path}: the text is not shown"
            flat = re.sub(r"[\s>-]|&gt;", "", html).upper()
            assert compact not in flat, f"{role} sees the activation code on {path}"
