"""The console's sessions, held on the server (docs/decisions.md #39).

The signed cookie carries only ``sid``, a random 256-bit id; the
``console_session`` row (keyed by its SHA-256) says who is logged in, since
when, from where, and whether the session has ended. Every console request
and every ``/manager`` socket connection checks the row, so log-out, a
password change, a disabled manager, idle expiry (SESSION_IDLE_S) and the
absolute lifetime (SESSION_MAX_S) end a session everywhere at once.
"""

from __future__ import annotations

from flask import current_app, g, request, session

from .. import db
from ..i18n import _
from ..security import new_session_id, session_end_reason, session_key, user_agent_summary
from .session_sockets import SessionSockets


def now() -> float:
    return current_app.config["CLOCK"]()


def sockets() -> SessionSockets:
    return current_app.extensions["ars_session_sockets"]


def current_key() -> str | None:
    """The stored key of the browser's session id, or None without one."""
    sid = session.get("sid")
    return session_key(sid) if isinstance(sid, str) and sid else None


def check(key: str | None) -> tuple[dict | None, str | None]:
    """(the session's row, None) while it may be used, else (None, why not).
    A session found idle, too old or of a disabled manager is marked ended
    here and its dashboard sockets are closed."""
    if key is None:
        return None, "unknown"
    store = db.get_db()
    row = db.console_session(store, key)
    cfg = current_app.config
    reason = session_end_reason(row, now(), idle_s=cfg["SESSION_IDLE_S"], max_s=cfg["SESSION_MAX_S"])
    if reason is None:
        return row, None
    if row is not None and row["ended_at"] is None:
        end(key, reason)
    return None, reason


def begin(manager: dict, address: str) -> None:
    """A new session for a manager who just logged in (the cookie keeps the
    language only, everything else is forgotten)."""
    sid = new_session_id()
    db.start_session(db.get_db(), session_key(sid), manager["id"], now=now(), address=address,
                     user_agent=user_agent_summary(request.user_agent.string))
    session["sid"] = sid


def touch(key: str) -> None:
    db.touch_session(db.get_db(), key, now())


def end(key: str, reason: str) -> bool:
    """End one session and close its sockets; False when it had ended already."""
    ended = db.end_session(db.get_db(), key, reason, now())
    sockets().drop(key)
    return ended


def open_rows() -> list[dict]:
    """The sessions that may still be used, newest activity first."""
    cfg = current_app.config
    moment = now()
    return db.open_sessions(db.get_db(), idle_since=moment - cfg["SESSION_IDLE_S"],
                            created_since=moment - cfg["SESSION_MAX_S"])


def ended_message(reason: str | None) -> str:
    """Why the browser was logged out, in the manager's language."""
    from .auth import duration
    return {
        "idle": _("오랫동안 사용하지 않아 로그아웃되었습니다."),
        "expired": _("로그인한 지 {span}이 지나 로그아웃되었습니다. 다시 로그인하세요.",
                     span=duration(current_app.config["SESSION_MAX_S"])),
        "logout": _("다른 창에서 로그아웃되었습니다. 다시 로그인하세요."),
        "password changed": _("패스워드가 바뀌어 로그아웃되었습니다. 새 패스워드로 로그인하세요."),
        "manager disabled": _("사용이 중지된 관리자 아이디입니다."),
        "ended by manager": _("관리자가 이 접속을 끝냈습니다. 다시 로그인하세요."),
        "wrong PIN": _("관리자비번을 여러 번 잘못 입력하여 로그아웃되었습니다. 다시 로그인하세요."),
        "allow-list": _("접근관리에서 이 주소를 허용하지 않아 로그아웃되었습니다."),
    }.get(reason or "", _("로그인이 필요합니다."))


def cached() -> dict | None:
    """This request's valid session row (after ``check``), if any."""
    return g.get("console_session")
