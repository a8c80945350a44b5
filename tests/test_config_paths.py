"""The default, relative ``db`` and ``uploads`` paths work wherever ``ars
serve`` is started: they are taken from the working directory it was started
in, so a phone gets its announcements (before, ``GET /api/assets/<sha>``
answered 500: Flask read the relative uploads path against the ``server``
package's folder)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from server import config, create_app, db, sample
from server.security import token_sha256

from .conftest import free_port

TOKEN = "p" * 43


@pytest.fixture
def plain_environ(monkeypatch, tmp_path):
    """A working directory of its own, without ARS_* settings or an ars.toml."""
    for name in ("ARS_DB", "ARS_UPLOADS", "ARS_CONFIG", "ARS_HOST", "ARS_PORT", "ARS_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.chdir(site)
    return site


def seed_phone_and_campaign(site: Path) -> tuple[str, bytes]:
    """A campaign's files under ``site`` (where the defaults point) and a
    phone with :data:`TOKEN`; returns the intro's hash and its bytes."""
    seeded = sample.seed_campaign(site / "var" / "ars.db", site / "uploads", contacts=3)
    store = db.connect(site / "var" / "ars.db")
    try:
        db.create_phone(store, name="rack-01", mode="router", token_sha256=token_sha256(TOKEN))
    finally:
        store.conn.close()
    intro = seeded["assets"]["intro"][0]
    data = (site / "uploads" / "sha256" / intro[:2] / f"{intro}.wav").read_bytes()
    return intro, data


def test_the_defaults_and_relative_settings_become_absolute_paths_in_the_working_directory(plain_environ):
    values = config.load()
    assert values["db"] == str(plain_environ / "var" / "ars.db")
    assert values["uploads"] == str(plain_environ / "uploads")
    (plain_environ / "ars.toml").write_text('db = "data/../ars.db"\nuploads = "~/ars-uploads"\n')
    values = config.load()
    assert values["db"] == str(plain_environ / "ars.db")
    assert values["uploads"] == str(Path.home() / "ars-uploads")
    app_values = config.app_config(dict(values, db="other.db", uploads="up"))
    assert (app_values["DATABASE"], app_values["UPLOADS"]) == (str(plain_environ / "other.db"),
                                                                str(plain_environ / "up"))


def test_an_empty_path_setting_is_refused_naming_it(plain_environ, monkeypatch):
    (plain_environ / "ars.toml").write_text('uploads = ""\n')
    with pytest.raises(config.ConfigError, match="uploads must name a path"):
        config.load()


def test_a_phone_gets_its_announcement_from_an_app_built_with_the_default_paths(plain_environ):
    intro, data = seed_phone_and_campaign(plain_environ)
    app = create_app(config.app_config(config.load()))
    assert app.config["UPLOADS"] == str(plain_environ / "uploads")
    with app.test_client().get(f"/api/assets/{intro}", headers={"Authorization": f"Bearer {TOKEN}"}) as got:
        assert got.status_code == 200, got.get_data(as_text=True)[:300]
        assert got.data == data and hashlib.sha256(got.data).hexdigest() == intro


def test_a_relative_path_given_to_the_app_factory_is_made_absolute(plain_environ):
    intro, data = seed_phone_and_campaign(plain_environ)
    app = create_app({"DATABASE": "var/ars.db", "UPLOADS": "uploads", "SECRET_KEY": "test"})
    with app.test_client().get(f"/api/assets/{intro}", headers={"Authorization": f"Bearer {TOKEN}"}) as got:
        assert got.status_code == 200 and got.data == data


@pytest.mark.slow
def test_ars_serve_started_elsewhere_with_the_defaults_serves_a_phone_its_announcement(plain_environ):
    intro, data = seed_phone_and_campaign(plain_environ)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARS_")}
    log_path = plain_environ / "serve.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "server", "serve", "--host", "127.0.0.1",
                                    "--port", str(port)], cwd=plain_environ, stdout=log,
                                   stderr=subprocess.STDOUT, env=dict(env, PYTHONUNBUFFERED="1"))
    try:
        request = urllib.request.Request(f"http://127.0.0.1:{port}/api/assets/{intro}",
                                         headers={"Authorization": f"Bearer {TOKEN}"})
        body = _fetch_when_listening(request, process, log_path)
        assert body == data
    finally:
        process.terminate()
        process.wait(timeout=10)


def _fetch_when_listening(request, process, log_path: Path, timeout: float = 30.0) -> bytes:
    import time
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise AssertionError(f"ars serve exited: {log_path.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.read()
        except urllib.error.HTTPError as exc:
            raise AssertionError(f"HTTP {exc.code}: {exc.read()[:300]!r}\n"
                                 f"{log_path.read_text(errors='replace')}") from None
        except OSError:
            if time.monotonic() > deadline:
                raise AssertionError(f"ars serve did not answer: {log_path.read_text(errors='replace')}")
            time.sleep(0.2)
