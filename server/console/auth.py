"""Login (관리자 아이디 / 패스워드 / 관리자비번), log-out, lock-out, the admin PIN.

Every console request passes ``guard_console`` first: the allow-list of
client networks (접근관리), then the server-held session (``sessions.py``:
ended, idle, too old, manager disabled). argon2 verification runs off the
event loop (``jobs.run_blocking``): each costs about 0.3 s of CPU.
"""

from __future__ import annotations

import datetime as dt
import functools

from flask import (Blueprint, current_app, flash, g, redirect, render_template, request,
                   session, url_for)

from werkzeug.exceptions import abort

from .. import db
from ..i18n import _
from ..jobs import run_blocking
from ..operating import SEOUL
from ..security import (LockoutPolicy, address_allowed, hash_secret, parse_networks,
                        verify_secret)
from . import sessions
from .forms import LoginForm, safe_next

bp = Blueprint("auth", __name__)

# Verified against when the id is unknown, so a wrong id costs the same time
# as a wrong password (no id enumeration by timing).
@functools.cache
def _dummy_hash() -> str:
    return hash_secret("not a real secret")


def verify(stored_hash: str, secret: str) -> bool:
    """``verify_secret`` on a real thread, so the event loop keeps serving."""
    return run_blocking(verify_secret, stored_hash, secret)


# Wrong admin PINs that end a session (and close its dashboard sockets).
PIN_FAILURES_END_SESSION = 5


def now() -> float:
    return current_app.config["CLOCK"]()


def client_address() -> str:
    return request.remote_addr or "unknown"


def lockout_policy() -> LockoutPolicy:
    cfg = current_app.config
    return LockoutPolicy(cfg["LOCKOUT_MAX_FAILURES"], cfg["LOCKOUT_WINDOW_S"], cfg["LOCKOUT_BAN_S"])


def seoul_time(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, SEOUL).strftime("%Y-%m-%d %H:%M")


def current_manager() -> dict | None:
    """The manager of this request's session while it may be used, else None
    (why not is kept in ``g.session_end``)."""
    if "manager" not in g:
        row, g.session_end = sessions.check(sessions.current_key())
        g.console_session = row
        g.manager = db.manager_by_id(db.get_db(), row["manager_id"]) if row else None
    return g.manager


def login_required(view):
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if current_manager() is None:
            flash(_("로그인이 필요합니다."), "info")
            return redirect(url_for("auth.login", next=request.full_path))
        return view(*args, **kwargs)
    return wrapped


def check_admin_pin(pin: str | None) -> bool:
    """Ask-again check for destructive and security actions: the manager's admin PIN."""
    manager = current_manager()
    return bool(manager and pin and verify(manager["pin_hash"], pin))


def pin_refused(target: str | None = None, action: str = "delete") -> bool:
    """Whether the form's admin PIN is wrong. If so the refusal is audited
    (``action`` on ``target``) and shown, and the caller redirects. The
    fifth wrong PIN of a session ends it: its sockets close, it is audited,
    and the browser goes to the login page saying why."""
    if check_admin_pin(request.form.get("pin")):
        return False
    audit(action, target=target, ok=False, detail={"reason": "wrong PIN"})
    key = sessions.current_key()
    if key is not None and current_manager() is not None:
        failures = db.count_pin_failure(db.get_db(), key)
        if failures >= PIN_FAILURES_END_SESSION:
            sessions.end(key, "wrong PIN")
            audit("session", target="console session", ok=False,
                  detail={"ended": "wrong PIN", "pin_failures": failures})
            clear_session()
            flash(sessions.ended_message("wrong PIN"), "error")
            abort(redirect(url_for("auth.login")))
    flash(_("관리자비번이 올바르지 않습니다."), "error")
    return True


def clear_session() -> None:
    """Forget the log-in, not the language the manager chose."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang


def audit(action: str, target: str | None = None, detail: dict | None = None, ok: bool = True,
          actor: str | None = None) -> None:
    manager = current_manager()
    db.audit(db.get_db(), action, actor=actor or (manager["login_id"] if manager else None),
             address=client_address(), target=target, detail=detail, ok=ok)


# Pages a browser with an ended session may still open (its stale cookie is
# cleared quietly): the login form itself, log-out, the language switch.
OPEN_ENDPOINTS = {"auth.login", "auth.logout", "auth.set_language"}


def guard_console():
    """before_request for console blueprints: allow-list, then the session."""
    networks = parse_networks(db.get_setting(db.get_db(), "console_allow_networks", ""))
    if not address_allowed(client_address(), networks):
        return render_template("denied.html"), 403
    if "sid" in session:
        if current_manager() is None:
            reason = g.session_end
            clear_session()
            if request.endpoint not in OPEN_ENDPOINTS:
                flash(sessions.ended_message(reason), "info")
                return redirect(url_for("auth.login"))
            g.pop("manager", None)
            return None
        sessions.touch(sessions.current_key())
    return None


def _safe_next(target: str | None) -> str:
    return safe_next(target, url_for("home.index"))


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "GET":
        if current_manager() is not None:
            return redirect(url_for("home.index"))
        return _login_page(next=request.args.get("next", ""))

    form = LoginForm()
    login_id, password, pin = form.login_id.data or "", form.password.data or "", form.pin.data or ""
    next_url = form.next.data or ""
    if not form.validate():
        flash(_("세 항목을 모두 입력하세요."), "error")
        return _login_page(next=next_url, login_id=login_id), 400

    store = db.get_db()
    policy = lockout_policy()
    address = client_address()
    moment = now()
    locked_until = db.lockout_until(store, policy.keys(address, login_id), moment)
    if locked_until:
        db.audit(store, "login", actor=login_id, address=address, ok=False,
                 detail={"reason": "locked", "until": seoul_time(locked_until)})
        return _locked(locked_until, login_id, next_url)

    manager = db.manager_by_login(store, login_id)
    unknown = None if manager else run_blocking(_dummy_hash)
    password_ok = verify(manager["password_hash"] if manager else unknown, password)
    pin_ok = verify(manager["pin_hash"] if manager else unknown, pin)
    if manager and password_ok and pin_ok and manager["disabled_at"]:
        db.audit(store, "login", actor=login_id, address=address, ok=False,
                 detail={"reason": "manager disabled"})
        flash(sessions.ended_message("manager disabled"), "error")
        return _login_page(next=next_url, login_id=login_id), 403
    if manager and password_ok and pin_ok:
        db.clear_login_failures(store, address, login_id)
        previous = sessions.current_key()
        if previous is not None:       # this browser's earlier session, if any, is over
            sessions.end(previous, "logged in again")
        clear_session()
        sessions.begin(manager, address)
        db.audit(store, "login", actor=login_id, address=address, ok=True)
        return redirect(_safe_next(next_url))

    by_address, by_login = db.record_login_failure(store, moment, address, login_id, policy.window_s)
    # Which field was wrong stays in the audit log, never on the page.
    db.audit(store, "login", actor=login_id, address=address, ok=False,
             detail={"reason": "unknown id" if not manager else
                     "wrong password" if not password_ok else "wrong PIN",
                     "failures_in_window": max(by_address, by_login)})
    ban_until = policy.ban_until(moment, by_address, by_login)
    if ban_until:
        for key in policy.keys(address, login_id):
            db.set_lockout(store, key, ban_until)
        db.audit(store, "lockout", actor=login_id, address=address, ok=False,
                 detail={"until": seoul_time(ban_until)})
        return _locked(ban_until, login_id, next_url)
    flash(_("아이디, 패스워드 또는 관리자비번이 올바르지 않습니다."), "error")
    return _login_page(next=next_url, login_id=login_id), 401


def _locked(until: float, login_id: str, next_url: str):
    flash(_("계정이 잠겼습니다. {until}까지 로그인할 수 없습니다.", until=seoul_time(until) + " (KST)"),
          "error")
    return _login_page(next=next_url, login_id=login_id), 429


def lockout_notice() -> str:
    """The lock-out rule in words, shown on the login page before the first try."""
    policy = lockout_policy()
    return _("{window} 안에 로그인에 {n}번 실패하면 그 아이디와 접속 주소가 {ban} 동안 잠깁니다.",
             window=duration(policy.window_s), n=policy.max_failures, ban=duration(policy.ban_s))


def duration(seconds: float) -> str:
    """A configured span in words: whole hours when it is some, else minutes (at least 1)."""
    if seconds >= 3600 and seconds % 3600 == 0:
        return _("{n}시간", n=int(seconds // 3600))
    return _("{n}분", n=max(1, round(seconds / 60)))


def _login_page(**values):
    return render_template("login.html", lockout_notice=lockout_notice(), **values)


@bp.route("/logout", methods=["POST"])
def logout():
    manager = current_manager()
    if manager:
        sessions.end(sessions.current_key(), "logout")
        audit("logout")
    clear_session()
    flash(_("로그아웃되었습니다."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/lang/<code>")
def set_language(code: str):
    if code in ("ko", "en"):
        session["lang"] = code
    return redirect(_safe_next(request.args.get("next")))
