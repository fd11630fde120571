"""The monitor's dashboard as a console page (monitor.dashboard.dashboard_data), with its charts drawn here."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from console.auth import signed_in
from console.charts import COLOURS, bar_chart
from console.humane import Clock
from console.i18n import words
from console.vocabulary import STATES
from console.web import console_of, language_of, render
from core.db import session_scope
from core.models import Officer

router = APIRouter()
OPEN = ["received", "needs_info", "pending_review"]


@router.get("/dashboard")
def dashboard(request: Request, officer: Officer = Depends(signed_in)) -> Response:
    from monitor.dashboard import dashboard_data

    console = console_of(request)
    language = language_of(request)
    _ = words(language).gettext
    clock = Clock(language, console.settings.console.time_zone)
    with session_scope(console.engine) as db:
        data = dashboard_data(db, console.settings)
    history = data["history"]
    labels = {name: _(STATES[name]) for name in OPEN} | {"forms": _("Forms received")}

    def tip(day: str, series: str, count: str) -> str:
        return _("%(day)s: %(series)s %(count)s", day=day, series=series, count=count)

    backlog = bar_chart(
        history,
        OPEN,
        lambda day, name: day["states"].get(name, 0),
        title=_("Open applications by state, last 30 days"),
        labels=labels,
        day_label=clock.short_day,
        number=clock.number,
        tip=tip,
        chart_id="backlog",
    )
    received = bar_chart(
        history,
        ["forms"],
        lambda day, name: day["received"],
        title=_("Forms received per day, last 30 days"),
        labels=labels,
        day_label=clock.short_day,
        number=clock.number,
        tip=tip,
        chart_id="received",
    )
    return render(
        request,
        "dashboard.html",
        officer,
        data=data,
        backlog_chart=backlog,
        received_chart=received,
        open_states=OPEN,
        colours=COLOURS,
    )
