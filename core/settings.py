"""Settings: one typed object, read from a TOML file and CERS_<SECTION>__<KEY> environment variables."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from core.errors import SettingsError

ENV_PREFIX = "CERS_"
SECRET_KEYS = {
    ("mailbox", "password"),
    ("mailbox", "oauth_client_secret"),
    ("smtp", "password"),
    ("console", "secret_key"),
    ("monitor", "metrics_token"),
}


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Security = Literal["none", "starttls", "tls"]


class MailboxSettings(_Section):
    name: str = "applications"
    host: str = "127.0.0.1"
    port: int = Field(1143, ge=1, le=65535)
    security: Security = "none"
    username: str = "intake"
    password: SecretStr = SecretStr("")
    folder: str = "INBOX"
    processed_folder: str = "Processed"
    quarantine_folder: str = "Quarantine"
    batch_size: int = Field(25, ge=1, le=1000)
    poll_interval: float = Field(30, gt=0)
    idle: bool = True
    timeout: float = Field(30, gt=0)
    max_message_bytes: int = Field(30_000_000, ge=1)
    lease_seconds: float = Field(90, gt=0)
    reconnect_max_seconds: float = Field(300, gt=0)
    auth: Literal["password", "xoauth2"] = "password"
    oauth_token_url: str = ""
    oauth_client_id: str = ""
    oauth_client_secret: SecretStr = SecretStr("")
    oauth_scope: str = "https://outlook.office365.com/.default"
    authserv_id: str = ""

    @model_validator(mode="after")
    def _lease_outlasts_a_pass(self) -> MailboxSettings:
        if self.lease_seconds <= self.poll_interval:
            raise ValueError("lease_seconds must be longer than poll_interval, or the lease runs out between passes")
        return self


class SmtpSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(1025, ge=1, le=65535)
    security: Security = "none"
    username: str = ""
    password: SecretStr = SecretStr("")
    from_address: str = "cers-applications@cbsa-asfc.example"
    from_name: str = "CBSA CERS Applications / ASFC Demandes SCDE"
    timeout: float = Field(30, gt=0)
    ca_file: str = ""

    @field_validator("ca_file")
    @classmethod
    def _ca_file_exists(cls, value: str) -> str:
        if value and not Path(value).is_file():
            raise ValueError(f"no CA bundle file at {value}")
        return value


class OutboxSettings(_Section):
    batch_size: int = Field(50, ge=1, le=10_000)
    rate_per_minute: float = Field(600, ge=0)
    retry_first_seconds: float = Field(60, gt=0)
    retry_max_seconds: float = Field(900, gt=0)
    retry_deadline_days: float = Field(5, gt=0)
    claim_seconds: float = Field(300, gt=0)


class MonitorSettings(_Section):
    imap_status_timeout: float = Field(5, gt=0)
    max_poll_age_seconds: float = Field(300, gt=0)
    backlog_threshold: int = Field(50, ge=1)
    failed_notice_window_hours: float = Field(24, gt=0)
    alert_to: str = ""
    alert_period_minutes: float = Field(60, gt=0)
    # /metrics answers only `Authorization: Bearer <token>` when set; from the environment only
    # (CERS_MONITOR__METRICS_TOKEN). Empty: /metrics is open.
    metrics_token: SecretStr = SecretStr("")


class DatabaseSettings(_Section):
    url: str = ""


class StorageSettings(_Section):
    path: Path = Path("var")
    # where raw messages and PDFs are kept: files under <path>/blobs, or the database's stored_blob table
    backend: Literal["filesystem", "database"] = "filesystem"


# The Privacy Regulations (SOR/83-508, s. 4(1)(a)): personal information used for an administrative
# purpose is kept at least two years after its last use, so an individual can ask for it.
MIN_RETENTION_YEARS = 2


class RetentionSettings(_Section):
    years_after_last_activity: int = MIN_RETENTION_YEARS
    quarantine_days: int = Field(90, ge=1)

    @field_validator("years_after_last_activity")
    @classmethod
    def _at_least_the_legal_minimum(cls, value: int) -> int:
        if value < MIN_RETENTION_YEARS:
            raise ValueError(
                f"must be at least {MIN_RETENTION_YEARS}: the Privacy Regulations (s. 4(1)(a)) keep personal information used "
                f"for an administrative purpose at least two years after its last use"
            )
        return value


class ProcessingSettings(_Section):
    max_attempts: int = Field(3, ge=1)
    max_pdf_bytes: int = Field(20_000_000, ge=1)
    max_auto_replies_per_day: int = Field(5, ge=0)
    claim_seconds: float = Field(300, gt=0)
    worker_poll_seconds: float = Field(0.5, gt=0)
    max_pdfs_per_message: int = Field(10, ge=1, le=1000)


class ParsingSettings(_Section):
    timeout_seconds: float = Field(20, gt=0)
    cpu_seconds: int = Field(10, ge=1)
    memory_mb: int = Field(1024, ge=64)
    max_pages: int = Field(50, ge=1)


class ValidationSettings(_Section):
    check_deliverability: bool = False
    require_inferred_fields: bool = False
    application_date_warn_days: int = Field(180, ge=1)


class DecisionSettings(_Section):
    activation_code_days: int = Field(90, ge=1)


class ConsoleSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    # signs the session cookies; from the environment only (CERS_CONSOLE__SECRET_KEY)
    secret_key: SecretStr = SecretStr("")
    session_hours: float = Field(8, gt=0)  # absolute: a session ends this long after its sign-in
    session_idle_minutes: float = Field(30, gt=0)
    secure_cookies: bool = True  # off only with `cers-intake console --development`
    max_failed_sign_ins: int = Field(5, ge=1)
    lockout_minutes: float = Field(15, gt=0)
    # sign-in attempts allowed per client address and per account name (limits' notation, e.g. "10/minute;50/hour")
    sign_in_limit_per_address: str = "30/minute"
    sign_in_limit_per_name: str = "10/minute"
    # Argon2 checks run at once at most (each takes 64 MiB); the others wait their turn
    parallel_password_checks: int = Field(2, ge=1, le=64)
    # addresses of the TLS proxy in front of the console, whose X-Forwarded-For/-Proto are believed
    trusted_proxies: str = ""
    trusted_user_header: str = ""
    claim_minutes: float = Field(30, gt=0)
    page_size: int = Field(50, ge=1, le=500)
    # the time zone the console shows times in (an IANA name)
    time_zone: str = "America/Toronto"

    @field_validator("time_zone")
    @classmethod
    def _time_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone such as 'America/Toronto' or 'America/Halifax'") from None
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @field_validator("sign_in_limit_per_address", "sign_in_limit_per_name")
    @classmethod
    def _rate_limit(cls, value: str) -> str:
        from limits import parse_many

        try:
            parse_many(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a rate limit such as '10/minute' or '10/minute;50/hour'") from None
        return value


class NoticeSettings(_Section):
    """How every notice is signed: the programme, who to contact, where the portal and its guide are."""

    contact_en: str = "Questions: reply to this message, or call the CBSA Border Information Service at 1-800-461-9999."
    contact_fr: str = (
        "Questions\u00a0: répondez à ce message ou appelez le Service d'information sur la frontière de l'ASFC au 1-800-461-9999."
    )
    portal_url: str = "https://www.cbsa-asfc.gc.ca/services/export/cers-scde/menu-eng.html"
    portal_url_fr: str = "https://www.cbsa-asfc.gc.ca/services/export/cers-scde/menu-fra.html"
    user_guide_url: str = "https://www.cbsa-asfc.gc.ca/services/export/cers-scde/guide-eng.html"
    user_guide_url_fr: str = "https://www.cbsa-asfc.gc.ca/services/export/cers-scde/guide-fra.html"


class LoggingSettings(_Section):
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["console", "json"] = "console"


class Settings(_Section):
    mailbox: MailboxSettings = MailboxSettings()
    smtp: SmtpSettings = SmtpSettings()
    outbox: OutboxSettings = OutboxSettings()
    monitor: MonitorSettings = MonitorSettings()
    database: DatabaseSettings = DatabaseSettings()
    storage: StorageSettings = StorageSettings()
    processing: ProcessingSettings = ProcessingSettings()
    parsing: ParsingSettings = ParsingSettings()
    validation: ValidationSettings = ValidationSettings()
    decisions: DecisionSettings = DecisionSettings()
    console: ConsoleSettings = ConsoleSettings()
    notices: NoticeSettings = NoticeSettings()
    logging: LoggingSettings = LoggingSettings()
    retention: RetentionSettings = RetentionSettings()

    @model_validator(mode="after")
    def _claim_outlasts_a_read(self) -> Settings:
        if self.processing.claim_seconds <= self.parsing.timeout_seconds:
            raise ValueError(
                "processing.claim_seconds must be longer than parsing.timeout_seconds, or a claim runs out while a PDF is read"
            )
        return self

    @property
    def database_url(self) -> str:
        return self.database.url or f"sqlite:///{self.storage.path / 'cers-intake.sqlite3'}"

    @property
    def blob_dir(self) -> Path:
        return self.storage.path / "blobs"


def load_settings(path: Path | None = None, environ: dict[str, str] | None = None) -> Settings:
    """Read the settings file (CERS_SETTINGS, else ./settings.toml if present) and the environment."""
    environ = dict(os.environ if environ is None else environ)
    if path is None and environ.get("CERS_SETTINGS"):
        path = Path(environ["CERS_SETTINGS"])
        if not path.is_file():
            raise SettingsError(f"CERS_SETTINGS names {path}, which is not a readable file")
    if path is None and Path("settings.toml").is_file():
        path = Path("settings.toml")
    data = _read_file(path) if path else {}
    from_env = _apply_environment(data, environ)
    return _validate(data, source=str(path) if path else "defaults", from_env=from_env)


def _read_file(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SettingsError(f"cannot read settings file {path}: {exc}") from exc
    for section, key in SECRET_KEYS:
        if key in data.get(section, {}):
            env = f"{ENV_PREFIX}{section.upper()}__{key.upper()}"
            raise SettingsError(f"{section}.{key} must not be in {path}: set it in the environment as {env}")
    if urlsplit(str(data.get("database", {}).get("url", ""))).password:
        raise SettingsError(f"database.url in {path} holds a password: set the URL in the environment as CERS_DATABASE__URL")
    return data


def _apply_environment(data: dict[str, Any], environ: dict[str, str]) -> dict[tuple[str, str], str]:
    """Merge CERS_<SECTION>__<KEY> variables into data; return which keys came from which variable."""
    sections = Settings.model_fields
    from_env: dict[tuple[str, str], str] = {}
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX) or name == "CERS_SETTINGS":
            continue
        section, sep, key = name[len(ENV_PREFIX) :].lower().partition("__")
        if not sep or section not in sections:
            raise SettingsError(f"unknown setting {name}: expected CERS_<SECTION>__<KEY>")
        section_model = sections[section].annotation
        if key not in section_model.model_fields:  # type: ignore[union-attr]
            raise SettingsError(f"unknown setting {name}: [{section}] has no key {key!r}")
        data.setdefault(section, {})[key] = value
        from_env[(section, key)] = name
    return from_env


def _validate(data: dict[str, Any], source: str, from_env: dict[tuple[str, str], str]) -> Settings:
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        problems: list[str] = []
        for err in exc.errors():
            loc = tuple(str(p) for p in err["loc"])
            variable = from_env.get((loc[0], loc[1])) if len(loc) >= 2 else None
            where = f" (from {variable})" if variable else ""
            problems.append(f"{'.'.join(loc)}: {err['msg']}{where}")
        raise SettingsError(f"bad settings ({source}): {'; '.join(problems)}") from None
