"""The monitor's dashboard as a console page (monitor.dashboard.dashboard_data)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from console.auth import signed_in
from console.web import console_of, render
from core.db import session_scope
from core.models import Officer

router = APIRouter()


@router.get("/dashboard")
def dashboard(request: Request, officer: Officer = Depends(signed_in)) -> Response:
    from monitor.dashboard import dashboard_data

    console = console_of(request)
    with session_scope(console.engine) as db:
        data = dashboard_data(db, console.settings)
    return render(request, "dashboard.html", officer, data=data)
