"""Prometheus metrics, read from the database at each scrape (no state kept in the process)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy.engine import Engine
from sqlmodel import Session

from core.settings import Settings
from monitor.status import backlog_status


class BacklogCollector:
    """The backlog summary as gauges; the mailbox's own counts are left to `cers-intake status`."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine, self.settings = engine, settings

    def collect(self) -> Iterator[Metric]:
        with Session(self.engine) as session:
            s = backlog_status(session, self.settings, check_mailbox=False)
        applications = GaugeMetricFamily("cers_applications", "Applications by state.", labels=["state"])
        for state, count in s["queue"].items():
            applications.add_metric([state], count)
        yield applications
        yield _gauge(
            "cers_oldest_open_age_business_days", "Age of the oldest open application in business days.", s["oldest_open_age_business_days"]
        )
        yield _gauge("cers_past_service_level", "Open applications past the service level.", s["past_service_level"])
        notices = GaugeMetricFamily("cers_notices", "Notices by delivery status.", labels=["status"])
        for status, count in s["outbox"].items():
            if status in ("pending", "sent", "failed", "undeliverable"):
                notices.add_metric([status], count)
        yield notices
        yield _gauge("cers_notices_retrying", "Pending notices that failed at least once.", s["outbox"]["retrying"])
        yield _gauge(
            "cers_notices_failed_recently", "Notices failed within monitor.failed_notice_window_hours.", s["outbox"]["failed_recently"]
        )
        yield _gauge("cers_messages_waiting", "Messages recorded and not processed yet.", s["messages_waiting"])
        yield _gauge("cers_quarantined_messages", "Messages quarantined for an officer.", s["quarantined_messages"])
        yield _gauge(
            "cers_quarantined_attachments",
            "PDF attachments quarantined for an officer (a parsing limit was hit).",
            s["quarantined_attachments"],
        )
        yield _gauge("cers_delivery_problems", "Applications flagged because a notice could not be delivered.", s["delivery_problems"])
        yield _gauge("cers_last_poll_timestamp_seconds", "Time of the last successful poll of the mailbox.", _epoch(s["last_poll_at"]))
        yield _gauge("cers_last_send_timestamp_seconds", "Time of the last notice the SMTP server accepted.", _epoch(s["last_send_at"]))
        alerts = GaugeMetricFamily("cers_alert_active", "Alert conditions whose alert went out and has not cleared.", labels=["condition"])
        for alert in s["alerts"]:
            alerts.add_metric([alert["condition"]], 1)
        yield alerts


def _gauge(name: str, documentation: str, value: float | None) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=float("nan") if value is None else float(value))


def _epoch(iso: str | None) -> float | None:
    return datetime.fromisoformat(iso).timestamp() if iso else None


def render_metrics(engine: Engine, settings: Settings) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(BacklogCollector(engine, settings))
    return generate_latest(registry)
