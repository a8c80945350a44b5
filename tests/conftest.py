"""Shared fixtures: a real SQLite file and uploads folder per test, the app
built for it, and helpers that read like a manager's steps."""

from __future__ import annotations

import html as _html
import re

import pytest

from phone_agent.android.build import ensure_built, missing_tools
from server import create_app, db
from server.security import hash_secret, use_fast_hashing

# Login tests verify hundreds of hashes; production parameters cost ~0.3 s each.
use_fast_hashing()

MANAGER_ID = "manager"
PASSWORD = "correct horse 1"
PIN = "2468"


@pytest.fixture(scope="session", autouse=True)
def audio_helper_jar():
    """The phone's audio helper, built from its smali sources when they
    changed (scripts/test has installed smali and dexdump): virtual handsets
    run exactly this jar. Without the tools the adb tests fail saying so, and
    test_android_helper.py's build test fails, never skips."""
    if not missing_tools():
        ensure_built()


class Clock:
    """An injectable clock for lock-out and idle expiry."""

    def __init__(self, start: float = 1_800_000_000.0):
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def app_overrides():
    """Config a test module sets on top of the test app's (override the fixture)."""
    return {}


@pytest.fixture
def app(tmp_path, clock, app_overrides):
    app = create_app({
        "TESTING": True,
        "DATABASE": str(tmp_path / "ars.db"),
        "UPLOADS": str(tmp_path / "uploads"),
        "SECRET_KEY": "test",
        "CLOCK": clock,
        **app_overrides,
    })
    store = db.connect(app.config["DATABASE"])
    db.create_manager(store, MANAGER_ID, hash_secret(PASSWORD), hash_secret(PIN))
    store.conn.close()
    return app


@pytest.fixture
def store(app):
    """A connection of the test's own to the app's database file."""
    conn = db.connect(app.config["DATABASE"])
    yield conn
    conn.conn.close()


class Manager:
    """The manager at the console: logs in, posts forms with the CSRF token."""

    def __init__(self, client):
        self.client = client

    def csrf_token(self, path: str = "/login") -> str:
        page = self.client.get(path).get_data(as_text=True)
        match = re.search(r'name="csrf_token" value="([^"]+)"', page) or \
            re.search(r'name="csrf-token" content="([^"]+)"', page)
        assert match, f"no CSRF token on {path}"
        return match.group(1)

    def login(self, login_id=MANAGER_ID, password=PASSWORD, pin=PIN, **kwargs):
        token = self.csrf_token("/login")
        return self.client.post("/login", data={"login_id": login_id, "password": password,
                                                "pin": pin, "csrf_token": token}, **kwargs)

    def post(self, path: str, data: dict | None = None, **kwargs):
        data = dict(data or {})
        data.setdefault("csrf_token", self.csrf_token("/home"))
        return self.client.post(path, data=data, **kwargs)

    def logout(self):
        return self.post("/logout")


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def manager(client):
    return Manager(client)


@pytest.fixture
def logged_in(manager):
    response = manager.login()
    assert response.status_code == 302, response.get_data(as_text=True)
    return manager


def page_text(response) -> str:
    """The visible text of a page, tags dropped, whitespace squeezed."""
    html = response.get_data(as_text=True)
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    text = re.sub(r"<[^>]+>", " ", html)
    return re.sub(r"\s+", " ", _html.unescape(text)).strip()


# -- a real server process, for browser and end-to-end tests -------------------

def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """``ars serve`` in a subprocess on a loopback port, with its own database.

    ``config`` entries go to an ars.toml (e.g. short leases); ``seed(db_path,
    uploads_dir)`` fills the database before the server starts; ``args`` go
    to ``ars serve`` (``--tls`` makes :attr:`url` https)."""

    def __init__(self, base_dir, config: dict | None = None, seed=None, args: tuple[str, ...] = ()):
        from pathlib import Path
        self.base_dir = Path(base_dir)
        self.db = str(self.base_dir / "live.db")
        self.uploads = str(self.base_dir / "uploads")
        self.port = free_port()
        self.args = list(args)
        tls = any(arg in ("--tls", "--tls-cert") for arg in self.args)
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self.config_path = self.base_dir / "ars.toml"
        lines = [f"{key} = {value!r}" for key, value in (config or {}).items()]
        self.config_path.write_text("\n".join(lines) + "\n")
        store = db.connect(self.db)
        try:
            db.migrate(store)
            db.create_manager(store, MANAGER_ID, hash_secret(PASSWORD), hash_secret(PIN))
        finally:
            store.conn.close()
        self.seeded = seed(self.db, self.uploads) if seed else None
        self.log_path = self.base_dir / "server.log"
        self.start()

    def start(self) -> None:
        import os
        import subprocess
        import sys
        self.log = open(self.log_path, "ab")
        env = dict(os.environ, PYTHONUNBUFFERED="1", ARS_CONFIG=str(self.config_path))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "server", "serve", "--db", self.db, "--uploads", self.uploads,
             "--host", "127.0.0.1", "--port", str(self.port), *self.args],
            stdout=self.log, stderr=subprocess.STDOUT, env=env)
        self._wait_until_listening()

    def _wait_until_listening(self, timeout: float = 30.0) -> None:
        import socket
        import time
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_path.read_text()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("server did not start listening")

    def kill(self) -> None:
        """Stop the server abruptly (SIGKILL), as a crash or a power cut would."""
        self.process.kill()
        self.process.wait(timeout=10)
        self.log.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except Exception:
                self.process.kill()
        self.log.close()

    def store(self):
        return db.connect(self.db)


@pytest.fixture
def live_server(tmp_path):
    server = LiveServer(tmp_path)
    yield server
    server.stop()


CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture
def browser_page():
    """A page in Debian's headless Chromium, driven by Playwright."""
    import shutil
    from playwright.sync_api import sync_playwright
    executable = shutil.which("chromium") or "/usr/bin/chromium"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True,
                                             args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.set_default_timeout(20_000)
        yield page
        browser.close()
