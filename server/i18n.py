"""Korean first, English second.

Templates and views write the Korean text (the words users know:
호출자료, 안내멘트, 상담원, …) and wrap it in ``_()``; ``EN`` maps it to English. A test checks
that every ``_()`` text in the templates has an English entry. The language is
kept in the session and switched with ``/lang/ko`` or ``/lang/en``.

Over 600 lines because it is the catalogue itself, one entry a line; the
code is the last 40 lines.
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
    # uploads refused on a full disk (server/disk.py DiskFull.TEXT)
    "디스크 공간이 부족합니다: 남은 공간 {free_mb} MB, 이 파일과 작업 공간에 {need_mb} MB가 필요합니다 "
    "(최소 여유 {min_free_mb} MB). 공간을 확보한 뒤 다시 올려 주세요.":
        "Not enough disk space: {free_mb} MB free, {need_mb} MB needed for this file and its working "
        "space (at least {min_free_mb} MB kept free). Free some space, then upload again.",
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
    # 통계 and exports (server/reports, console/statistics.py, console/exports.py)
    "PDF 보고서에 쓸 한글 글꼴(NanumGothic)이 서버에 없습니다. 서버 PC에서 'apt-get install fonts-nanum'을 실행하세요.":
        "The Korean font for the PDF report (NanumGothic) is not installed on the server. Run 'apt-get install fonts-nanum' on the server PC.",
    'SIM 문제': 'SIM problem',
    '{field}: 날짜는 YYYY-MM-DD 형식으로 입력하세요 (입력값: {value}).':
        '{field}: enter the date as YYYY-MM-DD (you entered: {value}).',
    '{field}: 숫자가 아닙니다 (입력값: {value}).': '{field}: not a number (you entered: {value}).',
    '값': 'Value',
    '건수': 'Calls',
    '결과별': 'By result',
    '관리자비번이 올바르지 않습니다. 전화번호 전체 표시는 관리자비번을 다시 입력해야 합니다.':
        'The admin PIN is not correct. Exporting full phone numbers needs the admin PIN again.',
    '기간': 'Period',
    '기간은 {max}일을 넘을 수 없습니다.': 'The period cannot be longer than {max} days.',
    '기준일': 'Day',
    '기준일 발신': 'Day: calls',
    '기준일 응답': 'Day: answered',
    '기준일 응답률': 'Day: answer rate',
    '기준일(기간의 마지막 날)과 그 전날의 시간대별 발신과 응답 (서울 시각). 막대는 발신, 선은 기준일의 응답입니다.':
        "Calls and answers per hour (Seoul time) on the day (the last day of the period) and the day before. Bars are calls, the line is the day's answers.",
    '끝난 통화의 결과별 건수. 비율은 끝난 통화 가운데의 비율입니다.':
        'Ended calls by result. The share is of all ended calls.',
    '내려받기': 'Download',
    '내보낼 파일을 쓰지 못했습니다. 서버 PC의 디스크 공간을 확인한 뒤 다시 내보내세요.':
        'The export file could not be written. Check the disk space on the server PC, then export again.',
    '내보내기': 'Export',
    '내보내는 중': 'Exporting',
    '네트워크 없음': 'No network',
    '마지막 통화 종료': 'Last call ended',
    '만든 시각': 'Made at',
    '무응답, 통화중, 거절, 없는 번호, 실패(폰 연결 끊김, 통화 시간 초과, 폰 오류)로 끝난 통화. 비율은 미연결·실패 가운데의 비율입니다.':
        'Calls that ended no answer, busy, rejected, invalid number or failed (phone connection lost, call too long, phone error). The share is of all such calls.',
    '미연결·실패': 'Not reached / failed',
    '미연결·실패 원인': 'Not reached / failed, by cause',
    '발신 시각': 'Dialled at',
    '발신: 폰이 실제로 건 통화 (서버가 발신을 허락한 통화), 건 날짜와 시각(서울) 기준. 응답률 = 응답 ÷ 발신. 서비스 레벨 = 1번을 누른 뒤 20초 안에 상담원에 연결된 통화 ÷ 1번 누름. 평균 통화 시간은 응답부터 종료까지, 평균 신호 시간은 발신부터 응답까지 (응답한 통화만). 콜백 요청은 1번을 눌렀지만 상담원에 연결되지 않아 콜백 요청이 기록된 통화. 수신거부 제외는 번호가 수신거부에 있어 걸지 않고 닫은 사람 수로, 시각이 남지 않아 기간과 상관없이 캠페인 전체의 수입니다.':
        "Dialled: calls a phone actually placed (the server allowed the dial), by the Seoul date and hour they were dialled. Answer rate = answered ÷ dialled. Service level = calls connected to an agent within 20 s of pressing 1 ÷ pressed 1. Average talk time runs from the answer to the end, average ring time from the dial to the answer (answered calls only). Callback requested: pressed 1, reached no agent, and a callback request was recorded. Do-not-call skipped: voters closed without a call because their number was on the do-not-call list; no time is kept for them, so this is the whole campaign's count, whatever the period.",
    '배정 시각': 'Leased at',
    '배터리 부족': 'Low battery',
    '비율': 'Share',
    '상담원 연결 시각': 'Connected to agent at',
    '상담원별': 'By agent line',
    '서비스 레벨 (1번 후 20초 안에 연결)': 'Service level (connected within 20 s of pressing 1)',
    '시간대': 'Hour',
    '시간대별': 'By hour',
    '신호 약함': 'Weak signal',
    '알 수 없는 결과입니다: {value}': 'Unknown result: {value}',
    '알 수 없는 상태입니다: {value}': 'Unknown status: {value}',
    '알 수 없는 표입니다: {value}': 'Unknown table: {value}',
    '예': 'Yes',
    '연결된 상담원': 'Agent connected',
    '요약': 'Summary',
    '원인': 'Cause',
    '응답 시각': 'Answered at',
    '응답 직후': 'Just after answering',
    '응답률': 'Answer rate',
    '이 자료는 {formats} 형식으로만 내보낼 수 있습니다 (요청: {value}).':
        'This can only be exported as {formats} (asked for: {value}).',
    '이 페이지를 새로 고치면 진행 상황이 보입니다.': 'Reload this page to see the progress.',
    '전일': 'Day before',
    '전일 발신': 'Day before: calls',
    '전일 응답': 'Day before: answered',
    '전일 응답률': 'Day before: answer rate',
    '전체 캠페인': 'All campaigns',
    '전화번호 전체 표시': 'Full phone numbers',
    '전화번호 전체 표시는 관리자비번을 다시 입력해야 합니다.': 'Full phone numbers need the admin PIN again.',
    '전화번호는 가려서 내보냅니다 (010-****-5678).': 'Phone numbers are masked (010-****-5678).',
    '종료 시각': 'Ended at',
    '종료일({last})이 시작일({first})보다 앞섭니다.':
        'The end date ({last}) is before the start date ({first}).',
    '중간 종료 단계': 'Hung up during',
    '처리 시각': 'Handled at',
    '최종 결과': 'Final result',
    '캠페인 {id}번이 없습니다.': 'There is no campaign {id}.',
    '캠페인 결과': 'Campaign results',
    '캠페인 보고서': 'Campaign report',
    '캠페인을 고르세요.': 'Choose a campaign.',
    '콜백': 'Callback',
    '통계': 'Statistics',
    '통화 ID': 'Call ID',
    '통화 시간 (초)': 'Talk time (s)',
    '통화 시간 초과': 'Call too long',
    '통화 시간 합계 (초)': 'Total talk time (s)',
    '평균 신호 시간 (초)': 'Average ring time (s)',
    '평균 통화 시간 (초)': 'Average talk time (s)',
    '폰 연결 끊김': 'Phone connection lost',
    '폰 오류': 'Phone error',
    '폰마다 발신, 응답, 미연결·실패, 그리고 기간 안에 폰 상태에 새로 나타난 문제의 횟수 (배터리 20% 미만이고 충전 중이 아님, 신호 1칸 이하, 네트워크 없음, SIM 없음·잠김, 기기 끊김). 문제는 캠페인과 상관없이 셉니다.':
        'Per phone: calls, answered, not reached / failed, and how often a problem appeared in its status during the period (battery under 20 % and not charging, signal of 1 bar or less, no network, SIM absent or locked, device lost). Problems are counted whatever the campaign.',
    '폰별': 'By phone',
    '항목': 'Item',
    '호출': 'Rung',
    '호출: 상담원 전화가 울린 횟수 (한 통화가 여러 상담원을 울릴 수 있음). 응답: 상담원이 받아 연결된 횟수. 무응답: 받지 않아 다음 상담원으로 넘어간 횟수. 통화 시간은 연결부터 종료까지입니다.':
        "Rung: how often the agent's phone rang (one call may ring several lines). Answered: the agent picked up and was connected. No answer: not picked up, so the next line was tried. Talk time runs from the connection to the end.",
    '호출자료 {id}번이 없습니다.': 'There is no call list {id}.',
    '호출자료를 고르세요.': 'Choose a call list.',
    # backup and restore (server/backup/, console/backups.py)
    "백업": "Backups",
    "지금 백업": "Back up now",
    "백업 목록": "Archives",
    "백업 시각": "Taken at",
    "백업이 없습니다.": "No backups yet.",
    "보관 위치": "Kept in",
    "백업 파일에는 데이터베이스 전체와 그 데이터가 쓰는 업로드 파일(호출자료 원본, 안내멘트, 이미지)이 들어 있습니다. 모든 유권자의 번호가 들어 있으니 내려받은 파일은 안전하게 보관하세요.":
        "An archive holds the whole database and the uploads it uses (call list files, announcements, images). "
        "It holds every voter's number: keep a downloaded copy safe.",
    "자동 백업": "Automatic backups",
    "자동 백업 실패": "Automatic backup failed",
    "마지막 자동 백업": "Last automatic backup",
    "아직 없음": "None yet",
    "캠페인 진행 중 백업 간격 (분)": "Every (minutes) while a campaign runs",
    "보관할 자동 백업 수": "Automatic backups to keep",
    "캠페인이 진행 중일 때만 자동으로 백업합니다. 오래된 자동 백업부터 지웁니다 (수동, 복원 전, 올린 백업은 지우지 않습니다).":
        "Automatic backups are taken only while a campaign runs. The oldest automatic ones are removed first "
        "(manual, pre-restore and uploaded archives are never removed).",
    "수동": "Manual",
    "자동": "Automatic",
    "복원 전": "Before restore",
    "올린 파일": "Uploaded",
    "확인": "Verify",
    "확인됨": "Verified",
    "확인 안 됨": "Not verified",
    "손상": "Damaged",
    "복원": "Restore",
    "관리자비번을 다시 입력하세요.": "Enter your admin PIN again.",
    "복원 대기 중": "Restore pending",
    "복원 취소": "Cancel the restore",
    "준비한 복원을 취소했습니다.": "The prepared restore was cancelled.",
    "다른 PC의 백업 파일 올리기": "Upload an archive from another PC",
    "백업했습니다: {name}": "Backed up: {name}",
    "확인했습니다: 모든 파일의 SHA-256과 데이터베이스 무결성이 맞습니다.":
        "Verified: every file's SHA-256 and the database's integrity check are correct.",
    "올린 백업을 확인해 목록에 넣었습니다: {name}": "The uploaded archive was verified and added: {name}",
    "서버(ars serve)를 다시 시작하면 이 백업으로 바뀝니다. 바뀌기 전의 데이터는 “복원 전” 백업으로 남습니다.":
        "When the server (ars serve) is next started, the data is replaced by this archive. The data it "
        "replaces is kept as a “Before restore” archive.",
    "복원을 준비했습니다. 서버(ars serve)를 다시 시작하면 이 백업으로 바뀝니다. 바뀌기 전의 데이터는 “복원 전” 백업으로 남습니다.":
        "The restore is prepared. When the server (ars serve) is next started, the data is replaced by this "
        "archive. The data it replaces is kept as a “Before restore” archive.",
    "캠페인이 진행 중이면 복원할 수 없습니다. 먼저 캠페인을 일시정지하세요.":
        "A restore is refused while a campaign is running. Pause the campaign first.",
    "복원하기 전에 백업 파일의 모든 체크섬과 데이터베이스 무결성을 확인하고, 더 새로운 버전에서 만든 백업은 거부합니다.":
        "Before a restore every checksum in the archive and the database's integrity are checked; an archive "
        "made by a newer version is refused.",
    "복원은 서버(ars serve)를 다시 시작할 때 이루어지며, 그 전에 현재 데이터를 “복원 전” 백업으로 남깁니다.":
        "The restore happens when the server (ars serve) is next started; the current data is first kept as a "
        "“Before restore” archive.",
    "백업 이후의 통화 기록은 사라집니다. 그 사이 전화한 유권자에게 다시 전화할 수 있으니 확인한 뒤 캠페인을 재개하세요. 진행 중이던 캠페인은 일시정지 상태로 복원됩니다.":
        "Call records made after the backup are lost, so voters called since may be called again: check before "
        "resuming. A campaign that was running comes back paused.",
    "백업 파일이 아닙니다: {detail}": "Not a backup archive: {detail}",
    "백업 파일이 손상되었습니다 (읽다가 끊김): {detail}": "The archive is damaged (it ends early): {detail}",
    "백업 파일의 첫 항목이 manifest.json이 아닙니다.": "The archive's first entry is not manifest.json.",
    "백업 목록(manifest.json)이 올바르지 않습니다: {detail}": "The archive's manifest.json is not valid: {detail}",
    "이 프로그램이 모르는 백업 형식입니다 ({detail}).": "This program does not know this archive format ({detail}).",
    "백업 파일에 허용되지 않는 항목이 있습니다: {name} ({detail})":
        "The archive holds an entry that is not allowed: {name} ({detail})",
    "백업 목록에 없는 파일이 들어 있습니다: {name}": "The archive holds a file its manifest does not list: {name}",
    "같은 파일이 두 번 들어 있습니다: {name}": "The archive holds the same file twice: {name}",
    "파일 크기가 백업 목록과 다릅니다: {name}": "A file's size differs from the manifest: {name}",
    "파일이 손상되었습니다 (SHA-256 불일치): {name}": "A file is damaged (SHA-256 mismatch): {name}",
    "백업 목록에 있는 파일이 빠져 있습니다: {name}": "A file the manifest lists is missing: {name}",
    "백업 파일이 너무 큽니다: {detail}": "The archive is too large: {detail}",
    "데이터베이스 사본이 손상되었습니다 (integrity_check): {detail}":
        "The database copy is damaged (integrity_check): {detail}",
    "이 백업은 더 새로운 버전의 프로그램에서 만들어졌습니다 (모르는 스키마: {detail}). 프로그램을 먼저 업데이트하세요.":
        "This archive was made by a newer version of the program (unknown schema: {detail}). Update the "
        "program first.",
    "백업 파일이 없습니다: {name}": "No such archive: {name}",
    "백업 파일 이름이 올바르지 않습니다: {name}": "Not an archive's name: {name}",
    "서버(ars serve)가 이 데이터베이스를 사용 중입니다. 서버를 멈춘 뒤 다시 실행하세요.":
        "The server (ars serve) is using this database. Stop it, then run this again.",
    "다른 프로그램이 데이터베이스를 열고 있어 바꾸지 않았습니다 ({detail}). 그 프로그램을 닫은 뒤 다시 하세요.":
        "Another program has the database open, so nothing was replaced ({detail}). Close it and try again.",
    "캠페인 '{name}'이(가) 진행 중입니다. 캠페인을 일시정지한 뒤 복원하세요.":
        "Campaign '{name}' is running. Pause it, then restore.",
    "현재 데이터베이스가 손상되어 백업하지 않았습니다 (integrity_check): {detail}":
        "The current database is damaged, so no backup was written (integrity_check): {detail}",
    "백업하는 동안 업로드 파일이 바뀌었습니다: {name}": "An upload changed while it was being backed up: {name}",
    "백업 파일을 쓰지 못했습니다: {detail}": "The archive could not be written: {detail}",
    "데이터베이스 파일이 없습니다: {detail}": "There is no database file: {detail}",
    "디스크 공간이 부족합니다: 남은 공간 {free_mb} MB, 필요한 공간 {need_mb} MB. 공간을 확보한 뒤 다시 하세요.":
        "Not enough disk space: {free_mb} MB free, {need_mb} MB needed. Free some space and try again.",
    # calling engine, phones, campaigns, dashboard
    "발신 시작": "Start calling",
    "안내 중": "Intro playing",
    "상담원 찾는 중": "Finding an agent",
    "상담원 호출 중": "Ringing an agent",
    "상담원 통화 중": "With an agent",
    "약속 안내 중": "Promise playing",
    "1번 누름": "Pressed 1",
    "phone_agent 설치 명령": "phone_agent install command",
    "QR 코드 내용 (phone_agent run --pairing 에 그대로 넣을 수 있습니다)":
        "QR code text (give it as is to phone_agent run --pairing)",
    "서버 인증서 SHA-256 (폰은 이 값과 같은 인증서의 서버에만 접속합니다)":
        "Server certificate SHA-256 (phones connect only to a server with this certificate)",
    "설치 명령의 sha256 값으로 pip가 내려받은 파일을 확인합니다. 실행할 때는 --cert-sha256 을 붙이세요:":
        "pip checks the downloaded file against the sha256 in the install command. Run the agent with --cert-sha256:",
    "오디오": "Audio",
    "통화음 직접 수신": "Call audio, voter's side",
    "통화음 혼합 수신": "Call audio, both sides",
    "스피커 방식": "Speakerphone",
    "오디오 불가": "No audio",
    "시뮬레이션": "Simulated",
    "점검 전": "Not probed yet",
    "점검 중…": "Probing…",
    "점검 실패": "Probe failed",
    "오디오 점검": "Probe audio",
    "통화 중이라 점검하지 못했습니다. 통화가 끝난 뒤 다시 누르세요.": "A call was in progress, so the phone did not probe. Press again after the call.",
    "오디오 점검을 요청했습니다. 결과는 잠시 후 이 표에 나옵니다.": "Audio probe requested. The result appears in this table shortly.",
    "폰이 연결되어 있지 않아 오디오를 점검할 수 없습니다.": "The phone is not connected, so its audio cannot be probed.",
    "가입 요청": "Join requests",
    "이 가입 요청은 만료되었거나 이미 처리되었습니다. 폰에서 다시 요청하게 하세요.": "This join request has expired or was already decided. Let the phone ask again.",
    "거절": "Rejected",
    "공유기접속": "Router (공유기접속)",
    "그룹": "Group",
    "기기": "Device",
    "남음": "Remaining",
    "단계": "Step",
    "대기": "Idle",
    "등록": "Register",
    "등록 키": "Enrolment key",
    "등록 키를 가진 폰은 승인 없이 등록됩니다 (여러 대를 한 번에 등록할 때).": "Phones that present the enrolment key join without approval (for enrolling many at once).",
    "등록된 폰": "Registered phones",
    "만든 날짜": "Created",
    "만들기": "Create",
    "무응답": "No answer",
    "발신": "Dialled",
    "발신 중": "Dialling",
    "배정": "Leased",
    "배터리": "Battery",
    "복귀": "Back",
    "사용 안 함": "Disable",
    "상담원 연결": "Connected to agent",
    "상태": "State",
    "새 등록 키": "New enrolment key",
    "새 캠페인": "New campaign",
    "서버 주소": "Server address",
    "설치": "install",
    "승인": "Approve",
    "시도": "Attempt",
    "시뮬레이터": "Simulator",
    "신호": "signal",
    "신호 중": "Ringing",
    "실시간 현황": "Live dashboard",
    "안내 청취": "Listened",
    "없는 번호": "Invalid number",
    "오프라인": "Offline",
    "기기 끊김": "Phone unavailable",
    "폰의 Termux에서 (무선 디버깅 포트는 켤 때마다 바뀝니다):": "In Termux on the phone (the Wireless debugging port changes each time it is switched on):",
    "무선 디버깅 포트": "wireless debugging port",
    "서버 PC에서 이 폰 하나만 (여러 대는 ars phones adb --scan 이 스스로 등록합니다):": "On the server PC, for this one phone (for many, ars phones adb --scan enrols them by itself):",
    "폰 IP": "phone IP",
    "온라인": "Online",
    "요청": "Requested",
    "요청 시각": "Requested at",
    "응답": "Answered",
    "이 토큰은 지금 한 번만 보입니다. 폰에서 QR 코드를 찍거나 토큰을 입력하세요.": "This token is shown only now. Scan the QR code on the phone or type the token.",
    "이미지 적용": "Images applied",
    "인터넷연결": "Internet (인터넷연결)",
    "일시정지": "Pause",
    "자리비움": "Away",
    "재개": "Resume",
    "전화기(Termux)에서 한 줄로 설치합니다:": "Install on the phone (Termux) with one line:",
    "접속 방식": "Connection mode",
    "준비": "Ready",
    "중": "of",
    "중간 종료": "Hung up",
    "중지": "Stop",
    "중지됨": "Stopped",
    "진행 중": "Running",
    "진행 중인 캠페인 없음": "No campaign running",
    "최근 통화": "Recent calls",
    "캠페인": "Campaigns",
    "캠페인은 만들 때의 안내멘트, 이미지, 운용환경을 사용합니다.": "A campaign uses the announcements, images and operating settings as they are when it is created.",
    "콜백 요청": "Callback requested",
    "콜백 처리": "Callbacks",
    "토큰 재발급": "New token",
    "통화 기록": "Call records",
    "통화 시간": "Call length",
    "통화 중": "On a call",
    "통화중": "Busy",
    "폰": "Phones",
    "폰 등록": "Phones",
    "폰 추가": "Add a phone",
    "폰 토큰": "phone token",
    "호출 중": "Ringing",
    # campaign types, the election rules, keypad refusal
    "캠페인 종류": "Campaign type",
    "종류": "Type",
    "선거운동": "Election campaigning",
    "안내": "Notice",
    "설문": "Survey",
    "선거운동 전화에 적용되는 규칙": "Rules for election campaign calls",
    "밤 11시부터 다음 날 아침 6시까지(23:00–06:00)는 선거운동 전화를 걸 수 없습니다. 이 시스템은 운용환경의 발신 시간과 상관없이 이 시간에는 발신하지 않습니다.":
        "No election campaign calls may be made from 11 pm to 6 am (23:00–06:00). This system does not call "
        "then, whatever the calling hours in Operating settings say.",
    "공직선거법은 컴퓨터를 이용한 자동 송신장치를 설치한 전화로 선거운동을 하는 것을 제한합니다. 녹음된 안내멘트를 자동으로 발신하는 이 시스템으로 선거운동을 해도 되는지 먼저 확인하세요.":
        "The Public Official Election Act restricts election campaigning by telephones fitted with an "
        "automatic transmission device installed on a computer. Check first whether you may campaign with "
        "this system, which calls automatically and plays a recorded announcement.",
    "전화를 받은 사람이 앞으로 전화를 받지 않겠다고 할 수 있어야 합니다(수신거부). 이 시스템은 키패드 수신거부를 제공합니다: 수신거부 키를 누른 번호는 곧바로 수신거부에 추가되고 다시 전화하지 않습니다.":
        "Voters must be able to refuse further calls (do-not-call). This system offers refusal by keypad: "
        "a number whose voter presses the refusal key is added to Do-not-call at once and not called again.",
    "지금 수신거부 키: {key} (운용환경)": "Refusal key now: {key} (Operating settings)",
    "지금은 수신거부 키가 꺼져 있습니다. 운용환경에서 켜세요.":
        "The refusal key is switched off. Switch it on in Operating settings.",
    "이 안내는 신문 보도와 중앙선거관리위원회의 안내를 요약한 정보이며 법률 자문이 아닙니다. 정확한 내용은 관할 선거관리위원회(국번 없이 1390)에 문의하세요.":
        "This summarises newspaper reports and the National Election Commission's guidance; it is information, "
        "not legal advice. Ask your local election commission (1390, no area code) to confirm.",
    "위 내용을 확인했습니다": "I have read the above",
    "선거운동 캠페인은 규칙을 확인해야 만들 수 있습니다. ‘위 내용을 확인했습니다’에 표시하세요. 캠페인은 만들어지지 않았습니다.":
        "An election campaign can only be created once its rules are confirmed. Tick ‘I have read the above’. "
        "No campaign was created.",
    "선거운동: 23:00–06:00 발신 금지 (서울 시간)": "Election campaign: no calls 23:00–06:00 (Seoul time)",
    "지금은 선거운동 발신 금지 시간입니다. 06:00까지 발신을 멈춥니다.":
        "Election campaign calls are not allowed now. Calling is paused until 06:00.",
    "선거운동 캠페인은 위의 발신 시간과 상관없이 23:00–06:00(서울 시간)에는 절대 발신하지 않습니다.":
        "Election campaigns never call from 23:00 to 06:00 (Seoul time), whatever the calling hours above say.",
    "수신거부 키": "Refusal key",
    "전화를 받은 사람이 누르는 키": "Key the voter presses",
    "수신거부 사용 안 함": "Off (no keypad refusal)",
    "꺼짐": "Off",
    "전화를 받은 사람이 이 키를 누르면 그 번호를 곧바로 수신거부에 추가하고 다시 전화하지 않습니다. 그다음 수신거부 안내멘트(안내멘트에서 지정, 없으면 짧은 확인음)가 재생됩니다. 1번은 상담원 연결 키라서 고를 수 없습니다.":
        "When the voter presses this key, the number is added to Do-not-call at once and not called again. "
        "The refusal announcement (set on Announcements; without one, a short tone) plays next. "
        "1 connects to an agent, so it cannot be chosen.",
    "상품소개 안내멘트에 이 키를 알리는 말을 직접 녹음해 넣으세요. 예: “수신을 원하지 않으시면 {key} 눌러 주세요.”":
        "Announce this key in your own recording of the intro announcement. For example: "
        "“If you do not wish to receive these calls, press {key}.”",
    "수신거부 안내멘트": "Refusal announcement",
    "수신거부 안내멘트는 전화를 받은 사람이 수신거부 키(운용환경)를 눌렀을 때 재생됩니다. 선택 사항이며, 없으면 짧은 확인음이 재생됩니다.":
        "The refusal announcement plays when a voter presses the refusal key (Operating settings). "
        "It is optional: without one a short tone plays.",
    "수신거부(키패드)": "Refused (keypad)",
    # live dashboard: why phones do not dial, storage, agents
    "발신 시간이 아닙니다 (운용환경)": "Outside the calling hours (Operating settings)",
    "선거운동 발신 금지 시간 (23:00–06:00)": "Election campaign quiet hours (23:00–06:00)",
    "06:00까지 발신을 멈춥니다.": "Calling is paused until 06:00.",
    "디스크 공간 부족: 남은 공간 {free} MB (최소 {min} MB). 발신을 멈췄습니다. 공간을 확보하면 자동으로 다시 시작합니다.":
        "Disk space low: {free} MB left (minimum {min} MB). Calling has stopped. It resumes by itself once "
        "space is freed.",
    "데이터베이스에 기록할 수 없습니다: {error}": "The database cannot be written: {error}",
    "통화 후 자리비움": "Away after this call",
    # sessions, lock-out and the admin PIN asked again
    "{window} 안에 로그인에 {n}번 실패하면 그 아이디와 접속 주소가 {ban} 동안 잠깁니다.":
        "{n} failed logins within {window} lock that ID and that address for {ban}.",
    "{n}시간": "{n} h",
    "{n}분": "{n} min",
    "관리자가 이 접속을 끝냈습니다. 다시 로그인하세요.": "A manager ended this session. Log in again.",
    "관리자비번을 다시 입력하세요.": "Enter the admin PIN again.",
    "관리자비번을 여러 번 잘못 입력하여 로그아웃되었습니다. 다시 로그인하세요.":
        "You were logged out after too many wrong admin PINs. Log in again.",
    "다른 창에서 로그아웃되었습니다. 다시 로그인하세요.": "This session was logged out in another window. Log in again.",
    "로그인한 지 {span}이 지나 로그아웃되었습니다. 다시 로그인하세요.":
        "You were logged out {span} after logging in. Log in again.",
    "마지막 사용": "Last used",
    "브라우저": "Browser",
    "사용을 끌 때는 관리자비번이 필요합니다.": "Turning a phone off needs the admin PIN.",
    "사용이 중지된 관리자 아이디입니다.": "This manager ID has been disabled.",
    "서버 PC에서는 명령으로도 풀 수 있습니다: ars unlock (목록), ars unlock --id 아이디, ars unlock --address 주소":
        "On the server PC a command lifts them too: ars unlock (list), ars unlock --id ID, "
        "ars unlock --address ADDRESS",
    "이 창": "this window",
    "이미 끝난 접속입니다.": "That session has already ended.",
    "잠겨 있지 않습니다: {key}": "Not locked: {key}",
    "잠금을 해제했습니다.": "Unlocked.",
    "저장하면 허용되지 않는 주소의 접속은 바로 끊깁니다.":
        "On saving, sessions from addresses no longer allowed are ended at once.",
    "접근관리에서 이 주소를 허용하지 않아 로그아웃되었습니다.":
        "You were logged out: Access control no longer allows this address.",
    "접속 끊기": "End session",
    "접속 중인 관리자": "Managers logged in",
    "접속 중인 관리자가 없습니다.": "No manager is logged in.",
    "접속을 끝냈습니다.": "Session ended.",
    "패스워드가 바뀌어 로그아웃되었습니다. 새 패스워드로 로그인하세요.":
        "You were logged out because the password changed. Log in with the new password.",
    # call lists that cannot be read (server/contacts/reader.py)
    "'{name}': 확장자가 없는 파일은 받을 수 없습니다. 호출자료는 .xlsx, .xls, .csv, .txt로 올려 주세요.":
        "'{name}': files without an extension are not supported. Upload a call list as .xlsx, .xls, .csv or .txt.",
    "'{name}': '{ext}' 파일은 받을 수 없습니다. 호출자료는 .xlsx, .xls, .csv, .txt로 올려 주세요.":
        "'{name}': '{ext}' files are not supported. Upload a call list as .xlsx, .xls, .csv or .txt.",
    "'{name}' 파일을 열 수 없습니다 ({reason}).":
        "'{name}' could not be opened ({reason}).",
    "'{name}' 파일이 비어 있습니다 (0바이트).":
        "'{name}' is empty (0 bytes).",
    "'{name}'에 자료가 없습니다: 모든 행이 비어 있습니다.":
        "'{name}' has no rows: every row is empty.",
    "'{name}'은(는) UTF-16 글처럼 시작하지만 올바른 UTF-16이 아닙니다.":
        "'{name}' starts like UTF-16 text but is not valid UTF-16.",
    "'{name}'의 글자 인코딩을 알 수 없습니다. CSV UTF-8(또는 엑셀 통합 문서)로 저장해서 다시 올려 주세요.":
        "'{name}' is not readable text: its character encoding could not be recognised. Save it as CSV UTF-8 (or as an Excel workbook) and upload it again.",
    "'{name}'은(는) 텍스트 파일이 아닙니다 (이진 자료가 들어 있음). 호출자료는 .xlsx, .xls, .csv, .txt로 올려 주세요.":
        "'{name}' is not a text file (it holds binary data). Upload the call list as .xlsx, .xls, .csv or .txt.",
    "'{name}' 파일이 비어 있습니다: 빈 줄뿐입니다.":
        "'{name}' is empty: it holds only blank lines.",
    "'{name}'을(를) 표로 읽을 수 없습니다: {reason}":
        "'{name}' could not be read as a table: {reason}",
    "'{name}'은(는) 올바른 {ext} 파일이 아닙니다: 엑셀 통합 문서가 아닙니다 (손상되었거나 다른 종류의 파일 이름만 바꾼 것일 수 있습니다). 엑셀에서 열어 .xlsx로 다시 저장하거나 .csv로 올려 주세요.":
        "'{name}' is not a valid {ext} file: it is not an Excel workbook (it may be damaged, or another kind of file renamed). Open it in Excel and save it again as .xlsx, or upload it as .csv.",
    "'{name}'에 암호가 걸려 있습니다. 엑셀에서 암호를 없앤 뒤 다시 올려 주세요.":
        "'{name}' is protected with a password. Remove the password in Excel and upload it again.",
    "'{name}'은(는) 올바른 {ext} 파일이 아닙니다: 스프레드시트로 열 수 없습니다 ({reason}). 엑셀에서 열어 다시 저장하거나 .csv로 올려 주세요.":
        "'{name}' is not a valid {ext} file: it could not be opened as a spreadsheet ({reason}). Open it in Excel and save it again, or upload it as .csv.",
    "'{name}'에 자료가 없습니다: 통합 문서의 시트가 비어 있습니다.":
        "'{name}' has no rows: the workbook's sheets are empty.",
    "파일에 자료가 없습니다.":
        "The file has no rows.",
    "파일에 제목 행만 있고 자료 행이 없습니다.":
        "The file has only a header row and no data rows.",
    "전화번호 열을 찾지 못했습니다: 제목이 전화번호/휴대폰/연락처/phone인 열도, 대부분 올바른 한국 전화번호로 된 열도 없습니다.":
        "No phone number column found: no column is headed 전화번호/휴대폰/연락처/phone, and no column holds mostly valid Korean phone numbers.",
    # call list files over the caps (server/contacts/limits.py), guarded reading (server/guarded.py)
    "열이 너무 많습니다: {count:,}개 (최대 {max:,}개)": "Too many columns: {count:,} (at most {max:,})",
    "행이 너무 많습니다: {count:,}행 (최대 {max:,}행)": "Too many rows: {count:,} (at most {max:,})",
    "칸 하나의 글자가 너무 깁니다: {chars:,}자 (최대 {max:,}자)":
        "One cell is too long: {chars:,} characters (at most {max:,})",
    "시트 범위가 너무 큽니다: {ref} ({rows:,}행 × {cols:,}열; 최대 {max_cols:,}열, {max_cells:,}칸)":
        "The sheet's range is too large: {ref} ({rows:,} rows × {cols:,} columns; at most {max_cols:,} "
        "columns and {max_cells:,} cells)",
    "표가 너무 큽니다: {rows:,}행 × {cols:,}열 (최대 {max:,}칸)":
        "The table is too large: {rows:,} rows × {cols:,} columns (at most {max:,} cells)",
    "'{name}' 파일이 올바른 엑셀 통합 문서가 아닙니다 (압축 구조가 손상됨).":
        "'{name}' is not a valid Excel workbook (its zip structure is damaged).",
    "파일을 읽는 데 메모리가 부족합니다 (한도 {limit_mb:,} MB).":
        "Reading the file needs more memory than allowed ({limit_mb:,} MB).",
    "파일을 읽는 데 시간이 너무 오래 걸립니다 ({seconds:,}초).":
        "Reading the file takes too long ({seconds:,} s).",
    "파일을 읽다가 처리 과정이 비정상 종료되었습니다 ({reason}).":
        "Reading the file stopped abnormally ({reason}).",
    "취소했습니다.": "Cancelled.",
    "가져오기를 취소했습니다. 저장된 것은 없습니다.": "The import was cancelled. Nothing was stored.",
    # why nothing dials, the campaign's numbers, campaigns that follow each other,
    # a live campaign's settings (server/calling/idle_reason.py, counters.py, console/campaigns.py)
    "발신 시작 전입니다 (발신 시작을 누르세요)": "Not started yet (press Start calling)",
    "중지된 캠페인입니다. 다시 발신하지 않습니다.": "This campaign was stopped. It never calls again.",
    "모든 대상에게 발신을 마쳤습니다.": "Every voter of the campaign has been called.",
    "일시정지됨": "Paused",
    "선거운동 발신 금지 시간 (23:00–06:00) — {time}에 재개": "Election campaign quiet hours (23:00–06:00) — resumes at {time}",
    "통화 가능 시간이 아닙니다 ({time}에 재개)": "Outside the calling hours (resumes at {time})",
    "발신 시간이 선거운동 허용 시간(06:00–23:00)과 겹치지 않습니다 (운용환경)":
        "The calling hours do not overlap the hours election calls are allowed (06:00–23:00) (Operating settings)",
    "안내멘트 없음": "No announcement",
    "디스크 공간 부족": "Disk space low",
    "데이터베이스에 기록할 수 없습니다": "The database cannot be written",
    "온라인 폰 없음": "No phone online",
    "발신할 수 있는 폰 없음 (기기 끊김 {count}대)": "No phone can call ({count} device lost)",
    "모든 폰이 오늘 발신 한도에 도달 ({time}에 재개)": "Every phone reached today's call limit (resumes at {time})",
    "재시도 대기 중 {count}명 — 다음 재시도 {time}": "{count} voters waiting for a retry — next retry {time}",
    "발신(통화 시도)": "Dialled (attempts)",
    "이전 캠페인 응답 제외": "Excluded: reached before",
    "완료 {done} / 대상 {target}명 ({percent}%)": "Done {done} / {target} voters ({percent}%)",
    "발신 시작 시각": "Calling starts",
    "발신 종료 시각": "Calling ends",
    "이 캠페인의 설정 바꾸기": "Change this campaign's settings",
    "발신 시간, 재시도, 상담원 연결과 벨 설정은 캠페인을 멈추지 않고 바꿀 수 있습니다. 다음 발신부터 적용되며, 이미 정해진 재시도 시각은 그대로입니다. 바꾼 내용은 감사 로그와 아래 변경 기록에 남습니다.":
        "Calling hours, retries, agent connection and ringing can be changed without stopping the campaign. "
        "They apply from the next call; retry times already set stay. Each change is kept in the audit log "
        "and in the change history below.",
    "설정 바꾸기": "Change settings",
    "설정 변경 기록": "Settings history",
    "바뀐 설정": "Changes",
    "{label}: {error}": "{label}: {error}",
    "설정을 바꾸지 않았습니다.": "The settings were not changed.",
    "바뀐 설정이 없습니다.": "Nothing was changed.",
    "캠페인 설정을 바꿨습니다. 다음 발신부터 적용됩니다.": "The campaign's settings were changed. They apply from the next call.",
    "중지한 캠페인은 다시 발신하지 않습니다 (일시정지는 재개할 수 있습니다) — 확인했습니다":
        "A stopped campaign never calls again (a paused one can resume) — understood",
    "중지하려면 ‘중지한 캠페인은 다시 발신하지 않습니다’ 확인란에 표시하세요. 캠페인은 중지되지 않았습니다.":
        "To stop, tick ‘A stopped campaign never calls again’. The campaign was not stopped.",
    "이전 캠페인에서 이미 응답한 유권자 제외": "Leave out voters reached in earlier campaigns",
    "응답 (안내를 들음)": "Answered (heard the announcement)",
    "이 호출자료 {list}명 중 {excluded}명을 제외하고 {to_call}명에게 발신합니다.":
        "Of the {list} voters of this call list, {excluded} are left out and {to_call} will be called.",
    "같은 전화번호로 이전 캠페인에서 고른 결과가 나온 유권자는 이 캠페인에서 ‘이전 캠페인 응답 제외’로 기록되고 발신하지 않습니다.":
        "A voter whose number had a chosen result in an earlier campaign is recorded as ‘Excluded: reached "
        "before’ in this one and not called.",
    "알 수 없는 응답 종류입니다: {kinds}. 캠페인은 만들어지지 않았습니다.":
        "Unknown kind of reached voter: {kinds}. No campaign was created.",
    "제외할 응답 종류를 하나 이상 고르세요. 캠페인은 만들어지지 않았습니다.":
        "Choose at least one kind of reached voter to leave out. No campaign was created.",
    "호출자료 번호가 올바르지 않습니다.": "The call list number is not valid.",
    "호출자료를 찾을 수 없습니다.": "No such call list.",
    # one wording of codes on every page (server/reports/labels.py): phone
    # states, call steps, audit actions and targets, call list rejects;
    # a call's page
    "가림": "masked",
    "검사": "check",
    "검증": "verify",
    "결정": "decision",
    "관리자가 끝냄": "ended by a manager",
    "관리자비번 틀림": "wrong PIN",
    "글꼴 없음": "font missing",
    "등록 요청": "join request",
    "명령줄 (ars)": "command line (ars)",
    "목록": "list",
    "목록 안 중복": "Duplicate in the list",
    "바이트": "bytes",
    "발신 대기": "Queued",
    "방법": "by",
    "번호 수": "numbers",
    "번호 없음": "No number",
    "보내는 중": "Sending",
    "본인": "own",
    "사용 중지된 관리자": "manager disabled",
    "상담원 무응답": "Agent did not answer",
    "상담원 호출": "Agent line rung",
    "새로 만듦": "new",
    "설정 변경": "Settings",
    "수신 중": "Incoming call",
    "수신거부 목록에 있는 번호입니다: 걸면 안 됩니다.": "On the do-not-call list (수신거부): this number must not be called.",
    "수신거부 번호": "On do-not-call",
    "신호 가는 중": "Ringing",
    "아니오": "no",
    "안내멘트 끝": "Announcement finished",
    "안내멘트 시작": "Announcement started",
    "알 수 없는 국번": "Unknown prefix",
    "알 수 없는 국번입니다: 한국 번호는 010, 011, 016-019, 02, 031-064, 070, 050x, 15xx/16xx/18xx로 시작합니다.":
        "Unknown prefix: a Korean number starts with 010, 011, 016-019, 02, 031-064, 070, 050x or 15xx/16xx/18xx.",
    "앞의 행에 같은 번호가 이미 있습니다.": "Duplicate: the same number is already on an earlier row.",
    "약속 안내 시작": "Callback promise started",
    "없는 아이디": "unknown id",
    "연속 실패": "failures in a row",
    "오류": "error",
    "자릿수 부족": "Too few digits",
    "자릿수 초과": "Too many digits",
    "잠금": "Lock-out",
    "잠김": "locked",
    "재발급": "reissued",
    "적용됨": "Applied",
    "전화번호 아님": "Not a phone number",
    "전화번호 칸이 비어 있습니다.": "The phone number is empty.",
    "전화번호가 아닙니다: 글자나 다른 문자가 들어 있습니다.":
        "Not a phone number: it contains letters or other characters.",
    "접근 허용 목록": "console allow-list",
    "접속": "Session",
    "정상": "ok",
    "제외 목록 - 호출자료": "rejects of call list",
    "캠페인 진행 중": "campaign running",
    "키 입력": "Key pressed",
    "토큰": "token",
    "통화 종료": "Call ended",
    "파일 지문": "sha256",
    "패스워드 틀림": "wrong password",
    "폰 등록 키": "phone enrolment key",
    "한국 전화번호로는 자릿수가 너무 많습니다.": "Too many digits for a Korean phone number.",
    "한국 전화번호로는 자릿수가 모자랍니다.": "Too few digits for a Korean phone number.",
    "해외 번호": "Foreign number",
    "해외 번호입니다: 한국 번호(+82)만 걸 수 있습니다.": "Foreign number: only Korean numbers (+82) can be called.",
    "행 수": "rows",
    "호출자료 파일": "call list file",
    "삭제된 폰": "Deleted phone",
    "삭제된 안내멘트": "Deleted announcement",
    "누른 키": "Key",
    "통화 단계": "Steps of the call",
    "상담원 내선": "Agent line",
    "통화음을 들을 수 없음": "no audio path",
    "캠페인 '{name}'은(는) 지금 상태에서 이 작업을 할 수 없습니다.": "Campaign '{name}' cannot do that in its present state.",
    "캠페인 '{name}'이(가) 이미 진행 중입니다. 먼저 중지하세요.": "Campaign '{name}' is already active; stop it first.",
    "내선번호 {extension}은(는) 다른 상담원이 이미 쓰고 있습니다.":
        "Extension {extension} is already used by another agent line.",
    "호출자료 '{name}'은(는) 캠페인에서 쓰고 있어 삭제할 수 없습니다.":
        "Call list '{name}' is used by a campaign and cannot be deleted.",
    "알 수 없는 캠페인 종류입니다: {kind}": "Unknown campaign type: {kind}",
    "캠페인 이름은 1-80자로 적으세요.": "A campaign needs a name of 1-80 characters.",
    "호출자료 '{name}'에 번호가 없습니다.": "The call list '{name}' has no numbers.",
    "먼저 안내멘트를 종류마다 지정하세요: {missing}": "Set an announcement of each kind first: {missing}",
    "제외할 응답 종류를 알 수 없습니다: {kinds}": "Unknown kinds of reached voters to leave out: {kinds}",
    "알 수 없는 이미지 종류입니다: '{value}'": "Unknown image kind '{value}'.",
    "내선번호는 숫자 2-8자리여야 합니다: '{value}'": "The extension must be 2-8 digits, not '{value}'.",
    "이름은 1-40자로 적으세요.": "The name must be 1-40 characters.",
    "발신 대상은 번호(숫자, *, #, +)여야 합니다: '{value}'":
        "The dial target must be a number (digits, *, #, +), not '{value}'.",
    "순서는 1부터 999까지의 숫자여야 합니다: '{value}'": "The order must be a number from 1 to 999, not '{value}'.",
    "폰 이름은 1-60자로 적으세요.": "A phone needs a name of 1-60 characters.",
    "폰 이름(1-60자)과 접속 방식(공유기접속 또는 인터넷연결)을 정하세요.":
        "A phone needs a name of 1-60 characters and a mode (router or internet).",
    "알 수 없는 접속 방식입니다: '{value}'": "Unknown phone mode '{value}'.",
    "알 수 없는 등록 키 작업입니다: '{value}'": "Unknown enrolment key action '{value}'.",
    "전체 번호": "full numbers",
    "표": "table",
    "형식": "format",
    "{row}행에 같은 번호가 이미 있습니다.": "Duplicate: the same number is already on row {row}.",
    "보관 개수": "keep",
    "자동 백업 간격 (분)": "every (min)",
    "정리한 백업": "removed",
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


def translator(lang: str):
    """``_`` for a fixed language, for work done outside the request (an
    export job, a chart drawn in a worker thread)."""
    if lang == "en":
        return lambda text: EN.get(text, text)
    return lambda text: text


def korean_template(exc: BaseException) -> str | None:
    """A refusal's Korean text with ``{fields}`` (filled from ``exc.values``):
    ``exc.korean`` (db.Conflict, CampaignError) or ``exc.template`` (the call
    list's ReadError/CallListError and the guarded child's failures)."""
    return getattr(exc, "korean", None) or getattr(exc, "template", None)


def error_message(exc: Exception) -> str:
    """A refusal's message for the manager: its Korean text
    (:func:`korean_template`) in the session's language, else its own text."""
    korean = korean_template(exc)
    return gettext(korean, **(getattr(exc, "values", None) or {})) if korean else str(exc)


def init_app(app) -> None:
    app.jinja_env.globals["_"] = gettext
    app.jinja_env.globals["current_language"] = current_language
