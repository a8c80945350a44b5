"""A call's events as the steps a manager reads on the call's page.

Pure: the caller hands in the events (``call_event`` rows with their data
decoded), the titles of the announcements by sha256 and the agent lines by
id, and a translator ``tr``. Every step comes back as ``{"at", "step",
"detail"}``: the step's Korean word (server/reports/labels.py) and what its
data says, in words — an announcement by its title, an agent line by its
extension and name, the key the voter pressed, the result and reason of the
end. Never a hash or raw JSON: data a phone sent that no step knows is left
out (it is untrusted and means nothing to the manager).
"""

from __future__ import annotations

from typing import Callable, Iterable, Mapping

from . import labels

Translate = Callable[[str], str]


def _line(line_id, lines: Mapping[int, dict], tr: Translate) -> str:
    line = lines.get(line_id) if isinstance(line_id, int) else None
    if line is None:
        return tr("상담원 내선") + " ?"
    name = f" {line['name']}" if line.get("name") else ""
    return f"{tr('상담원 내선')} {line['extension']}{name}"


def _detail(event: str, data: Mapping, titles: Mapping[str, str], lines: Mapping[int, dict],
            tr: Translate) -> str:
    if event == "intro_started":
        sha = data.get("sha256")
        if not isinstance(sha, str):
            return ""
        return tr("안내멘트") + ": " + titles.get(sha, tr("삭제된 안내멘트"))
    if event == "dtmf":
        digit = data.get("digit")
        return tr("누른 키") + ": " + (digit if isinstance(digit, str) and len(digit) == 1 else "?")
    if event in ("agent_ringing", "agent_no_answer", "bridged"):
        return _line(data.get("line_id"), lines, tr)
    if event == "ended":
        words = [tr(labels.result(data.get("result"))) if isinstance(data.get("result"), str) else ""]
        reason = data.get("reason")
        if isinstance(reason, str) and reason:
            words.append(tr("사유") + ": " + tr(labels.reason(reason)))
        return ", ".join(w for w in words if w)
    return ""


def steps(events: Iterable[Mapping], titles: Mapping[str, str], lines: Mapping[int, dict],
          tr: Translate) -> list[dict]:
    return [{"seq": e["seq"], "at": e["at"], "step": tr(labels.call_event(e["event"])),
             "detail": _detail(e["event"], e.get("data") or {}, titles, lines, tr)} for e in events]


def intro_hashes(events: Iterable[Mapping]) -> set[str]:
    """The sha256 of every announcement the events name (to look their titles up)."""
    return {e["data"]["sha256"] for e in events
            if e["event"] == "intro_started" and isinstance((e.get("data") or {}).get("sha256"), str)}
