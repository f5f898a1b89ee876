"""Settings: TOML file, environment overrides, and the refusals that keep a node reachable."""

import stat
from pathlib import Path

import pytest

from node.errors import ConfigurationError
from node.settings import Limits, Settings, check_base_url, load, new_settings, write

SECRET = "s" * 40
SQLITE = "sqlite+aiosqlite:///var/guildhall.db"


def _toml(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_load_reads_the_config_file(tmp_path: Path) -> None:
    config = _toml(
        tmp_path / "guildhall.toml",
        f'base_url = "https://school.example/"\ndatabase_url = "{SQLITE}"\n'
        f'secret = "{SECRET}"\nname = "Riverside School"\nmedia_dir = "/srv/media"\n'
        "[limits]\nmax_upload_bytes = 1000\n",
    )
    settings = load(config, environ={})
    assert settings.base_url == "https://school.example"  # trailing slash dropped
    assert settings.database_url == SQLITE
    assert settings.secret == SECRET
    assert settings.name == "Riverside School"
    assert settings.media_dir == Path("/srv/media")
    assert settings.dev is False
    assert settings.limits.max_upload_bytes == 1000
    assert settings.limits.sign_in_attempts == Limits().sign_in_attempts
    assert settings.domain == "school.example"
    assert settings.url("/members/alice") == "https://school.example/members/alice"


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    config = _toml(
        tmp_path / "guildhall.toml",
        f'base_url = "https://school.example"\ndatabase_url = "{SQLITE}"\nsecret = "{SECRET}"\n',
    )
    settings = load(
        config,
        environ={
            "GUILDHALL_BASE_URL": "http://127.0.0.1:8000",
            "GUILDHALL_DEV": "yes",
            "GUILDHALL_NAME": "Test node",
            "GUILDHALL_MEDIA_DIR": "/tmp/media",
        },
    )
    assert settings.base_url == "http://127.0.0.1:8000"
    assert settings.dev is True
    assert settings.name == "Test node"
    assert settings.media_dir == Path("/tmp/media")
    assert settings.domain == "127.0.0.1:8000"


@pytest.mark.parametrize(("value", "dev"), [("1", True), ("true", True), ("0", False), ("", False)])
def test_dev_flag_from_the_environment(value: str, dev: bool) -> None:
    environ = {
        "GUILDHALL_BASE_URL": "https://school.example",
        "GUILDHALL_DATABASE_URL": SQLITE,
        "GUILDHALL_SECRET": SECRET,
        "GUILDHALL_DEV": value,
    }
    assert load(Path("/nonexistent/guildhall.toml"), environ=environ).dev is dev


def test_environment_alone_is_enough_and_names_the_config_file(tmp_path: Path) -> None:
    config = _toml(
        tmp_path / "other.toml",
        f'base_url = "https://other.example"\ndatabase_url = "{SQLITE}"\nsecret = "{SECRET}"\n',
    )
    settings = load(environ={"GUILDHALL_CONFIG": str(config)})
    assert settings.base_url == "https://other.example"


def test_missing_settings_are_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as raised:
        load(tmp_path / "absent.toml", environ={"GUILDHALL_SECRET": SECRET})
    assert "base_url" in raised.value.reason
    assert "GUILDHALL_DATABASE_URL" in raised.value.reason
    assert "guildhall init" in raised.value.reason


def test_unknown_keys_are_refused(tmp_path: Path) -> None:
    config = _toml(
        tmp_path / "guildhall.toml",
        f'base_url = "https://school.example"\ndatabase_url = "{SQLITE}"\n'
        f'secret = "{SECRET}"\nbase_ulr = "typo"\n',
    )
    with pytest.raises(ConfigurationError) as raised:
        load(config, environ={})
    assert "base_ulr" in raised.value.reason


@pytest.mark.parametrize(
    ("limits", "named"),
    [("[limits]\nmax_uplaod_bytes = 5\n", "max_uplaod_bytes"), ("limits = 5\n", "")],
)
def test_unknown_or_malformed_limits_are_refused(tmp_path: Path, limits: str, named: str) -> None:
    config = _toml(
        tmp_path / "guildhall.toml",
        f'base_url = "https://school.example"\ndatabase_url = "{SQLITE}"\n'
        f'secret = "{SECRET}"\n' + limits,
    )
    with pytest.raises(ConfigurationError) as raised:
        load(config, environ={})
    assert "limits" in raised.value.reason
    assert named in raised.value.reason


def test_invalid_toml_is_reported(tmp_path: Path) -> None:
    config = _toml(tmp_path / "guildhall.toml", 'base_url = "https://school.example\n')
    with pytest.raises(ConfigurationError) as raised:
        load(config, environ={})
    assert "not valid TOML" in raised.value.reason


@pytest.mark.parametrize(
    "url",
    [
        "https://school.example",
        "https://school.example/",
        "https://school.example:8443",
        "https://bücher.example",
        "https://93.184.216.34",
    ],
)
def test_public_https_urls_are_accepted(url: str) -> None:
    check_base_url(url, dev=False)


@pytest.mark.parametrize(
    "url",
    [
        "http://school.example",  # plain http
        "https://localhost",
        "https://node.localhost",
        "https://127.0.0.1",
        "https://10.0.0.5",
        "https://192.168.1.10:8443",
        "https://[::1]",
    ],
)
def test_http_and_private_addresses_need_dev_mode(url: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        check_base_url(url, dev=False)
    assert "dev" in raised.value.reason
    check_base_url(url, dev=True)


@pytest.mark.parametrize(
    "url",
    [
        "school.example",
        "ftp://school.example",
        "https://",
        "https://school.example/guildhall",
        "https://school.example/?x=1",
        "https://school.example/#top",
        "https://a..b",
    ],
)
def test_unusable_base_urls_are_refused_even_in_dev_mode(url: str) -> None:
    with pytest.raises(ConfigurationError):
        check_base_url(url, dev=True)


def test_settings_refuse_a_short_secret_and_an_unknown_driver() -> None:
    with pytest.raises(ConfigurationError) as raised:
        Settings(base_url="https://school.example", database_url=SQLITE, secret="short")
    assert "secret" in raised.value.reason
    with pytest.raises(ConfigurationError) as raised:
        Settings(
            base_url="https://school.example", database_url="mysql://db/guildhall", secret=SECRET
        )
    assert "mysql" in raised.value.reason
    with pytest.raises(ConfigurationError):
        Settings(base_url="https://school.example", database_url="not a url", secret=SECRET)


def test_new_settings_get_a_fresh_secret() -> None:
    first = new_settings("https://school.example/", SQLITE, dev=False)
    second = new_settings("https://school.example", SQLITE, dev=False)
    assert first.base_url == "https://school.example"
    assert len(first.secret) >= 32
    assert first.secret != second.secret


def test_write_is_private_and_loads_back(tmp_path: Path) -> None:
    original = Settings(
        base_url="http://127.0.0.1:8000",
        database_url=SQLITE,
        secret=SECRET,
        dev=True,
        media_dir=tmp_path / "media",
        name="Loopback",
    )
    path = tmp_path / "guildhall.toml"
    write(original, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load(path, environ={}) == original


def test_write_makes_an_existing_file_private(tmp_path: Path) -> None:
    path = tmp_path / "guildhall.toml"
    path.write_text("", encoding="utf-8")
    path.chmod(0o644)
    write(new_settings("https://school.example", SQLITE, dev=False), path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_the_delivery_lease_is_read_from_limits_and_kept_long_in_production(
    tmp_path: Path,
) -> None:
    base = f'database_url = "{SQLITE}"\nsecret = "{SECRET}"\n'
    assert Limits().delivery_lease_seconds == 60
    config = _toml(
        tmp_path / "dev.toml",
        'base_url = "http://127.0.0.1:8000"\ndev = true\n'
        + base
        + "[limits]\ndelivery_lease_seconds = 2\n",
    )
    assert load(config, environ={}).limits.delivery_lease_seconds == 2
    # A lease shorter than a send could take lets a second worker send a row again.
    config = _toml(
        tmp_path / "prod.toml",
        'base_url = "https://school.example"\n' + base + "[limits]\ndelivery_lease_seconds = 2\n",
    )
    with pytest.raises(ConfigurationError, match="delivery_lease_seconds"):
        load(config, environ={})
    with pytest.raises(ConfigurationError, match="delivery_lease_seconds"):
        Settings(
            base_url="http://127.0.0.1:8000",
            database_url=SQLITE,
            secret=SECRET,
            dev=True,
            limits=Limits(delivery_lease_seconds=0),
        )
