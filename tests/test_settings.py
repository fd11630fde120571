from pathlib import Path

import pytest

from core.errors import SettingsError
from core.settings import load_settings

pytestmark = pytest.mark.unit

SETTINGS_FILE = Path(__file__).resolve().parent.parent / "settings.toml"


def test_documented_file_loads() -> None:
    documented = load_settings(SETTINGS_FILE, environ={})
    assert documented.mailbox.port == 1143
    assert documented.smtp.port == 1025
    assert documented.validation.check_deliverability is False


def test_every_documented_key_is_a_real_setting() -> None:
    import tomllib

    from core.settings import Settings

    data = tomllib.loads(SETTINGS_FILE.read_text())
    defaults = Settings().model_dump()
    for section, keys in data.items():
        for key, value in keys.items():
            assert key in defaults[section], f"{section}.{key} is documented but unknown"
            assert str(defaults[section][key]) == str(value), f"{section}.{key}: file says {value}"


def test_environment_overrides_the_file() -> None:
    settings = load_settings(
        SETTINGS_FILE,
        environ={
            "CERS_MAILBOX__HOST": "imap.example.ca",
            "CERS_MAILBOX__PORT": "993",
            "CERS_MAILBOX__SECURITY": "tls",
            "CERS_MAILBOX__PASSWORD": "s3cret",
        },
    )
    assert (settings.mailbox.host, settings.mailbox.port, settings.mailbox.security) == ("imap.example.ca", 993, "tls")
    assert settings.mailbox.password.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(settings)


def test_bad_value_names_the_key_and_variable() -> None:
    with pytest.raises(SettingsError, match=r"mailbox\.port.*CERS_MAILBOX__PORT"):
        load_settings(SETTINGS_FILE, environ={"CERS_MAILBOX__PORT": "imap"})


def test_unknown_variable_is_refused() -> None:
    with pytest.raises(SettingsError, match="CERS_SMTP__HOSTNAME"):
        load_settings(SETTINGS_FILE, environ={"CERS_SMTP__HOSTNAME": "x"})


def test_password_in_the_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text('[smtp]\npassword = "oops"\n')
    with pytest.raises(SettingsError, match="CERS_SMTP__PASSWORD"):
        load_settings(path, environ={})


def test_a_database_password_in_the_file_is_refused_but_not_in_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text('[database]\nurl = "postgresql+psycopg://intake:s3cret@db.example/cers"\n')
    with pytest.raises(SettingsError, match="CERS_DATABASE__URL") as raised:
        load_settings(path, environ={})
    assert "s3cret" not in str(raised.value)
    path.write_text('[database]\nurl = "postgresql+psycopg://intake@db.example/cers"\n')
    assert load_settings(path, environ={}).database.url.endswith("@db.example/cers")
    url = "postgresql+psycopg://intake:s3cret@db.example/cers"
    assert load_settings(path, environ={"CERS_DATABASE__URL": url}).database.url == url


def test_cers_settings_names_another_file(tmp_path: Path) -> None:
    path = tmp_path / "other.toml"
    path.write_text('[mailbox]\nfolder = "Applications"\n')
    assert load_settings(environ={"CERS_SETTINGS": str(path)}).mailbox.folder == "Applications"
    with pytest.raises(SettingsError, match="not a readable file"):
        load_settings(environ={"CERS_SETTINGS": str(tmp_path / "missing.toml")})
