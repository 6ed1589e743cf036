"""The sign-in throttle's production storage: a real Redis, shared by every worker."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time

import pytest
import redis

from tests.security.test_sign_in import attempt
from tests.web.conftest import USERS

REDIS = shutil.which("redis-server")


@pytest.fixture
def redis_url(tmp_path):
    if REDIS is None:
        pytest.fail("redis-server is missing: apt-get install -y redis-server")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([REDIS, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                               "--appendonly", "no", "--dir", str(tmp_path)],
                              stdout=subprocess.DEVNULL)
    client = redis.Redis(port=port)
    for _ in range(100):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    server.terminate()
    server.wait()


def test_failed_sign_ins_are_counted_in_redis(app, client, users, redis_url):
    from gapwatch.extensions import limiter

    app.config.update(RATELIMIT_STORAGE_URI=redis_url, LOGIN_LIMIT_PER_ACCOUNT="2 per 15 minutes")
    limiter.init_app(app)  # the storage is read when the extension starts
    users("admin")
    for _ in range(2):
        assert attempt(client, USERS["admin"][0], "wrong password!!").status_code == 200
    assert attempt(client, USERS["admin"][0], "wrong password!!").status_code == 429
    keys = redis.Redis.from_url(redis_url).keys("*login-account*")
    assert keys, "the counts are not in Redis"
