"""Production refuses to start on insecure settings; key files are made safely; cookies are Secure."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from gapwatch import checkpoint, config, create_app

SECURE = {
    "ENV": "production",
    "SECRET_KEY": "s" * 64,
    "BASE_URL": "https://gapwatch.example",
    "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:1/0",  # connects on first use
    "DATABASE_URL": "sqlite://",
}


@pytest.fixture
def key_file(tmp_path) -> str:
    path = tmp_path / "audit.pem"
    checkpoint.create_key(path)
    return str(path)


def test_production_starts_with_secure_settings(key_file):
    app = create_app({**SECURE, "AUDIT_KEY_FILE": key_file})
    assert app.config["SESSION_COOKIE_SECURE"] is True


@pytest.mark.parametrize(("change", "named"), [
    ({"SECRET_KEY": None}, "GAPWATCH_SECRET_KEY must be set"),
    ({"SECRET_KEY": "short"}, "GAPWATCH_SECRET_KEY must be set"),
    ({"BASE_URL": "http://gapwatch.example"}, "GAPWATCH_BASE_URL must be the public https://"),
    ({"AUDIT_KEY_FILE": None}, "GAPWATCH_AUDIT_KEY_FILE must name"),
    ({"RATELIMIT_STORAGE_URI": "memory://"}, "GAPWATCH_RATELIMIT_STORAGE_URI must be shared"),
])
def test_production_refuses_each_insecure_setting(key_file, change, named):
    with pytest.raises(config.InsecureSettings, match=named):
        create_app({**SECURE, "AUDIT_KEY_FILE": key_file, **change})


def test_production_makes_no_secret_key_file(tmp_path):
    with pytest.raises(config.InsecureSettings):
        create_app({**SECURE, "SECRET_KEY": None})
    assert not (Path(create_app.__module__).parent / "secret_key").exists()


def test_gunicorns_wsgi_app_refuses_to_start_without_a_secret(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("GAPWATCH_")}
    env.update(GAPWATCH_ENV="production", GAPWATCH_BASE_URL="https://gapwatch.example",
               GAPWATCH_DATABASE_URL=f"sqlite:///{tmp_path / 'x.sqlite'}")
    done = subprocess.run([sys.executable, "-c", "import wsgi"], cwd=Path(__file__).parents[2],
                          env=env, capture_output=True, text=True)
    assert done.returncode != 0
    assert "gapwatch refuses to start in production" in done.stderr
    assert "GAPWATCH_SECRET_KEY must be set" in done.stderr


def test_a_key_file_is_created_exclusively_with_mode_0600(tmp_path):
    path = tmp_path / "secret"
    config.create_secret_file(path, b"first")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with pytest.raises(FileExistsError):
        config.create_secret_file(path, b"second")
    assert path.read_bytes() == b"first"


def test_the_development_secret_is_kept_and_private(tmp_path):
    first = config._dev_secret(tmp_path)
    assert config._dev_secret(tmp_path) == first
    assert stat.S_IMODE(os.stat(tmp_path / "secret_key").st_mode) == 0o600


def test_a_planted_link_is_never_written_through(tmp_path):
    target = tmp_path / "elsewhere"
    target.write_text("theirs")
    (tmp_path / "secret_key").symlink_to(target)
    config._dev_secret(tmp_path)
    assert target.read_text() == "theirs"


def test_cookies_are_secure_when_the_base_url_is_https(tmp_path):
    app = create_app({"BASE_URL": "https://gapwatch.example", "SECRET_KEY": "x" * 40,
                      "DATABASE_URL": "sqlite://"})
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_behind_a_proxy_the_clients_address_and_scheme_are_used(tmp_path):
    app = create_app({"PROXY_COUNT": 1, "SECRET_KEY": "x" * 40, "DATABASE_URL": "sqlite://",
                      "BASE_URL": "http://gapwatch.test"})
    response = app.test_client().get("/login", headers={"X-Forwarded-Proto": "https",
                                                        "X-Forwarded-For": "203.0.113.9"})
    assert "Strict-Transport-Security" in response.headers
