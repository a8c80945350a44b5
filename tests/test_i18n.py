"""Korean first, English second: every console text has an English entry."""

import re
from pathlib import Path

from server.i18n import EN

SERVER = Path(__file__).resolve().parent.parent / "server"
CALL = re.compile(r"""_\(\s*"([^"]+)"|_\(\s*'([^']+)'""")


# tr("…") in the chart and PDF code, and the Korean messages of refusals.
REPORT_TEXT = re.compile(r"""(?:\btr|PeriodError|ExportRefused)\(\s*["']([^"']*[가-힣][^"']*)["']"""
                         r'|user_message = "([^"]+)"')

QUOTED_KOREAN = re.compile(r"""["']([^"'<>{}]*[가-힣][^"'<>{}]*)["']""")


def texts_to_translate() -> set[str]:
    found = set()
    for path in SERVER.glob("console/*.py"):
        for match in CALL.finditer(path.read_text(encoding="utf-8")):
            found.add(match.group(1) or match.group(2))
    # Every Korean string in a template is shown through _() (directly or via a label).
    for path in SERVER.glob("templates/**/*.html"):
        found.update(QUOTED_KOREAN.findall(path.read_text(encoding="utf-8")))
    # Labels passed through _() indirectly (readiness checks, kinds, stages, states).
    from server.console import campaigns, contacts, forms, ments, operations, phones
    found.update(label for _code, label in ments.KINDS)
    found.update(label for _code, label in forms.IMAGE_KINDS)
    found.update(label for _code, label in phones.MODES)
    found.update(phones.AUDIO_LABELS.values())
    found.update(contacts.STAGES_KO.values())
    found.update(campaigns.STATE_LABELS.values())
    found.update(campaigns.KIND_LABELS.values())
    found.add(forms.RULES_NOT_CONFIRMED)
    found.update(operations.RESULT_LABELS.values())
    found.update(operations.CALLBACK_LABELS.values())
    # 통계 and exports: the one wording of results and reasons, column headers,
    # explanations, and the texts the charts, the PDF and refusals translate.
    from server.console import exports, statistics
    from server.reports import labels, tables
    found.update(labels.all_labels())
    found.update(tables.all_headers())
    found.update(statistics.EXPLAIN.values())
    found.update(exports.WHAT_KO.values())
    for path in [*SERVER.glob("reports/*.py"), *SERVER.glob("console/*.py")]:
        for match in REPORT_TEXT.finditer(path.read_text(encoding="utf-8")):
            found.add(match.group(1) or match.group(2))
    from server import backup
    from server.console import backups
    found.update(backup.MESSAGES.values())
    found.update(backups.KIND_LABELS.values())
    found.update(backups.STATE_LABELS.values())
    return found


def test_every_console_text_has_an_english_entry():
    missing = sorted(t for t in texts_to_translate() if t not in EN and re.search(r"[가-힣]", t))
    assert missing == []


def test_pages_switch_language(logged_in, client):
    assert "호출자료 올리기" in client.get("/contacts/").get_data(as_text=True)
    client.get("/lang/en")
    page = client.get("/contacts/").get_data(as_text=True)
    assert "Upload a call list" in page and "호출자료 올리기" not in page
