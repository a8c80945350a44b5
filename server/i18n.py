"""Korean first, English second.

Templates and views write the Korean text (the words users know, from
DESIGN.md) and wrap it in ``_()``; ``EN`` maps it to English. A test checks
that every ``_()`` text in the templates has an English entry. The language is
kept in the session and switched with ``/lang/ko`` or ``/lang/en``.
"""

from __future__ import annotations

from flask import session

LANGUAGES = ("ko", "en")

EN: dict[str, str] = {
    # layout and navigation
    "모바일 ARS": "Mobile ARS",
    "관리자 콘솔": "Manager console",
    "현황": "Overview",
    "호출자료": "Call lists",
    "호출자료 올리기": "Upload a call list",
    "수신거부": "Do-not-call",
    "안내멘트": "Announcements",
    "안내멘트 올리기": "Upload an announcement",
    "이미지": "Images",
    "운용환경": "Operating settings",
    "상담원": "Agent lines",
    "접근관리": "Access control",
    "감사 로그": "Audit log",
    "로그아웃": "Log out",
    "로그인": "Log in",
    "한국어": "한국어",
    "English": "English",
    # login
    "관리자 아이디": "Manager ID",
    "패스워드": "Password",
    "관리자비번": "Admin PIN",
    "세 항목을 모두 입력하세요.": "Enter all three fields.",
    "아이디, 패스워드 또는 관리자비번이 올바르지 않습니다.": "The ID, password or admin PIN is not correct.",
    "계정이 잠겼습니다. {until}까지 로그인할 수 없습니다.": "The account is locked. Logins are refused until {until}.",
    "이 주소에서는 관리자 콘솔에 접속할 수 없습니다.": "The manager console cannot be reached from this address.",
    "오랫동안 사용하지 않아 로그아웃되었습니다.": "You were logged out after a period of inactivity.",
    "로그인이 필요합니다.": "Please log in.",
    "로그아웃되었습니다.": "You have logged out.",
    "요청이 만료되었거나 올바르지 않습니다. 다시 시도하세요.": "The request expired or was not valid. Please try again.",
    # overview
    "캠페인 준비 상태": "Campaign readiness",
    "호출자료 목록": "Call lists",
    "등록된 번호": "Numbers on file",
    "상품소개 안내멘트": "Intro announcement",
    "빠른시간내 전화약속": "Callback promise announcement",
    "콜백멘트": "Callback announcement",
    "발신시 표시 이미지": "Outgoing image (poster)",
    "착신시 표시 이미지": "Callback image",
    "준비됨": "Ready",
    "없음": "Missing",
    "개": "",
    "건": "",
    # contacts
    "목록 이름": "List name",
    "파일": "File",
    "지원 형식": "Accepted formats",
    "올리기": "Upload",
    "미리보기": "Preview",
    "가져오기": "Import",
    "취소": "Cancel",
    "전체 행": "Rows",
    "가져온 번호": "Imported",
    "잘못된 번호": "Invalid",
    "중복": "Duplicates",
    "수신거부 제외": "Do-not-call skipped",
    "제외 목록 내려받기 (.xlsx)": "Download rejects (.xlsx)",
    "감지된 열": "Detected columns",
    "머리글 있음": "Header row found",
    "머리글 없음 (열 위치로 판단)": "No header row (columns found by position)",
    "전화번호": "Phone",
    "이름": "Name",
    "주소": "Address",
    "기타 항목": "Other fields",
    "행": "Row",
    "원래 값": "Value as written",
    "사유": "Reason",
    "번호 또는 이름 검색": "Search by number or name",
    "검색": "Search",
    "이전": "Previous",
    "다음": "Next",
    "삭제": "Delete",
    "삭제하려면 관리자비번을 다시 입력하세요.": "Enter the admin PIN again to delete.",
    "관리자비번이 올바르지 않습니다.": "The admin PIN is not correct.",
    "올린 날짜": "Uploaded",
    "원본 파일": "Source file",
    "번호": "Numbers",
    "등록된 호출자료가 없습니다.": "No call lists yet.",
    "파일을 읽는 중": "Reading the file",
    "번호 정리 중": "Normalising numbers",
    "중복 확인 중": "Checking duplicates",
    "저장 중": "Saving",
    "전송 중": "Uploading",
    "완료": "Done",
    "가져오기 결과": "Import result",
    "이 목록을 가져옵니다. 잘못된 행과 중복은 제외됩니다.": "This list will be imported. Invalid rows and duplicates are left out.",
    "파일을 선택하세요.": "Choose a file.",
    "목록 이름을 입력하세요.": "Enter a list name.",
    "같은 이름의 호출자료가 이미 있습니다.": "A call list with that name already exists.",
    "가져오기 작업을 찾을 수 없습니다. 파일을 다시 올리세요.": "The import job was not found. Upload the file again.",
    "수신거부 번호 추가": "Add do-not-call numbers",
    "한 줄에 번호 하나": "One number per line",
    "메모": "Note",
    "추가": "Add",
    "등록일": "Added",
    "수신거부 번호가 없습니다.": "No do-not-call numbers.",
    # announcements
    "안내설정": "Announcement settings",
    "안내종류": "Kind",
    "안내순서": "Play order",
    "제목": "Title",
    "길이": "Length",
    "변환": "Conversion",
    "듣기": "Play",
    "저장": "Save",
    "미지정": "Not set",
    "원본 형식": "Source format",
    "전화기 형식 (PCM 8 kHz 16비트 모노)으로 변환했습니다": "Converted to the phone format (PCM 8 kHz 16-bit mono)",
    "이미 전화기 형식입니다": "Already in the phone format",
    "등록된 안내멘트가 없습니다.": "No announcements yet.",
    "초": "s",
    "주의": "Warning",
    # images
    "현재 사용 중": "In use",
    "사용하기": "Use this one",
    "크기": "Size",
    "등록된 이미지가 없습니다.": "No images yet.",
    "전화기용 이미지": "Phone-ready image",
    "세로 720×1280 JPEG, 300 KB 이하로 만들어 전화기에 보냅니다.":
        "Phones receive a portrait 720×1280 JPEG of at most 300 KB.",
    # settings
    "안내멘트 후 상담전화 연결": "Connect to an agent after the intro",
    "벨소리 반복횟수": "Agent ring repeats",
    "벨 주기 (초)": "Ring cycle (seconds)",
    "안내멘트 후 1번 입력 대기 (초)": "Wait for \"1\" after the intro (seconds)",
    "발신 시간 (서울 시각)": "Calling hours (Seoul time)",
    "시작": "From",
    "종료": "Until",
    "무응답 최대 시도": "No answer: maximum attempts",
    "무응답 재시도 간격 (분)": "No answer: retry after (minutes)",
    "통화중 최대 시도": "Busy: maximum attempts",
    "통화중 재시도 간격 (분)": "Busy: retry after (minutes)",
    "폰당 하루 최대 발신": "Daily calls per phone (maximum)",
    "저장했습니다.": "Saved.",
    "입력값을 확인하세요.": "Please check the values.",
    "허용 네트워크 (CIDR, 한 줄에 하나)": "Allowed networks (CIDR, one per line)",
    "비워 두면 모든 주소에서 접속할 수 있습니다. 서버 PC 자신(127.0.0.1)은 항상 허용됩니다.":
        "Leave empty to allow every address. The server PC itself (127.0.0.1) is always allowed.",
    "현재 접속 주소": "Your address",
    "잠긴 계정/주소": "Locked accounts and addresses",
    "잠금 해제": "Unlock",
    "잠긴 항목이 없습니다.": "Nothing is locked.",
    "까지": "until",
    # agent lines
    "내선번호": "Extension",
    "발신 대상": "Dial target",
    "순서": "Order",
    "사용": "Enabled",
    "상담원 추가": "Add an agent line",
    "수정": "Edit",
    # audit
    "시각": "Time",
    "관리자": "Manager",
    "접속 주소": "Address",
    "작업": "Action",
    "대상": "Target",
    "내용": "Detail",
    "결과": "Result",
    "성공": "OK",
    "실패": "Failed",
    "전체": "All",
    "기록이 없습니다.": "No entries.",
    "시작일": "From date",
    "종료일": "To date",
    "보기": "Show",
}


def current_language() -> str:
    try:
        lang = session.get("lang", "ko")
    except RuntimeError:  # outside a request
        return "ko"
    return lang if lang in LANGUAGES else "ko"


def gettext(text: str, **values) -> str:
    """Translate Korean ``text`` into the session's language; format ``values``."""
    if current_language() == "en":
        text = EN.get(text, text)
    return text.format(**values) if values else text


_ = gettext


def init_app(app) -> None:
    app.jinja_env.globals["_"] = gettext
    app.jinja_env.globals["current_language"] = current_language
