"""The console's forms (Flask-WTF): what each POST may carry and how it is checked.

Field names are the HTML ``name`` attributes the templates use. Messages
are the console's own (Korean through ``server/i18n.py`` where the page
flashes one, English in field errors, as before).

CSRF: ``CSRFProtect`` (``server/extensions.py``) checks the token of every
POST before a view runs, so these forms do not check it a second time.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask_wtf import FlaskForm
from wtforms import BooleanField, Field, HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, InputRequired, StopValidation, ValidationError

from .. import db, operating
from ..i18n import _
from ..contacts.phone_numbers import InvalidNumber, normalize
from ..security import parse_networks


class ConsoleForm(FlaskForm):
    class Meta:
        csrf = False   # checked app-wide, see the module docstring

    def error_list(self) -> list[str]:
        """Every field's errors, in field order."""
        return [message for field in self for message in field.errors]


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def safe_next(target: str | None, fallback: str) -> str:
    """Where a ``next`` field may send the browser: a path on this console,
    never another site (``//host``, ``/\\host`` and ``https://host`` are all
    off-site to a browser), else ``fallback``."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")) \
            and target.isprintable() and not urlsplit(target).netloc:
        return target
    return fallback


class Back(HiddenField):
    """The page to return to after a POST (``next``), checked by :func:`safe_next`."""

    def to(self, fallback: str) -> str:
        return safe_next(self.data, fallback)


class Present(BooleanField):
    """A checkbox that is on whenever it was sent, whatever its value."""

    false_values = ()


class Ticked(BooleanField):
    """A checkbox that is on only for 1, on, true or yes."""

    def __init__(self, *args, ignore_case: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.ignore_case = ignore_case

    def process_formdata(self, valuelist):
        raw = str(valuelist[0]) if valuelist else ""
        self.data = (raw.lower() if self.ignore_case else raw) in operating.TRUE_TEXTS


class Values(Field):
    """Every value sent under the field's name (checkboxes sharing a name), as a list."""

    def process_formdata(self, valuelist):
        self.data = [str(value) for value in valuelist]

    def _value(self):
        return ""


# -- log-in ----------------------------------------------------------------------

class LoginForm(ConsoleForm):
    """관리자 아이디, 패스워드, 관리자비번: all three or nothing."""

    login_id = StringField(filters=[_strip], validators=[DataRequired()])
    password = PasswordField(validators=[InputRequired()])
    pin = PasswordField(validators=[InputRequired()])
    next = Back()


# -- 운용환경 ----------------------------------------------------------------------

class OperatingSettingsForm(ConsoleForm):
    """The operating settings; the rules are ``operating.parse`` (pure), a field
    left out keeps the value in force."""

    connect_agent_after_intro = Ticked(ignore_case=True)
    agent_ring_repeats = StringField()
    agent_ring_cycle_s = StringField()
    press1_wait_s = StringField()
    call_hours_start = StringField()
    call_hours_end = StringField()
    no_answer_max_attempts = StringField()
    no_answer_retry_delay_min = StringField()
    busy_max_attempts = StringField()
    busy_retry_delay_min = StringField()
    daily_cap_per_phone = StringField()
    refuse_key = StringField()

    def __init__(self, current: operating.OperatingSettings, **kwargs):
        super().__init__(**kwargs)
        self.current = current
        self.settings: operating.OperatingSettings | None = None

    def validate(self, extra_validators=None) -> bool:
        if not super().validate(extra_validators):
            return False
        submitted = {field.name: field.raw_data[0] for field in self if field.raw_data}
        submitted["connect_agent_after_intro"] = "1" if self.connect_agent_after_intro.data else ""
        self.settings, errors = operating.parse(submitted, self.current)
        for name, message in errors.items():
            self[name].errors.append(message)
        return not errors

    def field_errors(self) -> dict[str, str]:
        return {field.name: field.errors[0] for field in self if field.errors}


# -- 안내멘트 ------------------------------------------------------------------------

MENT_KINDS = (("intro", "상품소개 안내멘트"), ("promise", "빠른시간내 전화약속"), ("callback", "콜백멘트"),
              ("refusal", "수신거부 안내멘트"))   # refusal: optional, played after a keypad refusal


class MentRoleForm(ConsoleForm):
    """An announcement's kind (none: not used) and its place in the play order (1-99)."""

    kind = StringField()
    position = StringField(default="1")

    def validate_kind(self, field):
        field.data = field.data or None
        if field.data is not None and field.data not in dict(MENT_KINDS):
            raise StopValidation(f"unknown announcement kind '{field.data}'")

    def validate_position(self, field):
        try:
            field.data = int(field.data)
        except (TypeError, ValueError):
            field.data = 0
        if not 1 <= field.data <= 99:
            raise ValidationError(_("안내순서") + ": 1-99")


class MentUploadForm(ConsoleForm):
    """A new announcement's title (at most 80 characters; empty: the file's name)."""

    title = StringField(filters=[_strip], default="")

    def title_or(self, filename_stem: str) -> str:
        return (self.title.data or "")[:80] or filename_stem


# -- 이미지 --------------------------------------------------------------------------

IMAGE_KINDS = (("outgoing", "발신시 표시 이미지"), ("callback", "착신시 표시 이미지"))


class ImageUploadForm(ConsoleForm):
    """Which of the two caller-display images an upload is."""

    kind = StringField()

    def validate_kind(self, field):
        if field.data not in dict(IMAGE_KINDS):
            raise ValidationError(_("알 수 없는 이미지 종류입니다: '{value}'", value=(field.data or "")[:30]))


# -- 호출자료 -------------------------------------------------------------------------

class CallListUploadForm(ConsoleForm):
    """A call list's name (checked against the others by the importer)."""

    name = StringField(default="")


# -- 상담원 (agent lines) -----------------------------------------------------------

_EXTENSION = re.compile(r"^[0-9]{2,8}$")
_DIAL_TARGET = re.compile(r"^[0-9*#+]{2,20}$")


class AgentLineForm(ConsoleForm):
    """One agent line, new (no id) or changed. Without a dial target the line
    is dialled at its extension; order 0 or empty puts it last."""

    id = HiddenField()
    extension = StringField(filters=[_strip], default="")
    name = StringField(filters=[_strip], default="")
    dial_target = StringField(filters=[_strip], default="")
    position = StringField(filters=[_strip], default="")
    enabled = Present()

    @property
    def line_id(self) -> int | None:
        try:
            return int(self.id.data)
        except (TypeError, ValueError):
            return None

    def validate_extension(self, field):
        if not _EXTENSION.match(field.data or ""):
            raise ValidationError(_("내선번호는 숫자 2-8자리여야 합니다: '{value}'", value=(field.data or "")[:30]))

    def validate_name(self, field):
        if not field.data or len(field.data) > 40:
            raise ValidationError(_("이름은 1-40자로 적으세요."))

    def validate_dial_target(self, field):
        field.data = field.data or self.extension.data or ""
        if not _DIAL_TARGET.match(field.data):
            raise ValidationError(_("발신 대상은 번호(숫자, *, #, +)여야 합니다: '{value}'", value=field.data[:30]))

    def validate_position(self, field):
        raw = field.data or ""
        try:
            number = int(raw or "0")
        except ValueError:
            number = -1
        if number != 0 and not 1 <= number <= 999:
            raise ValidationError(_("순서는 1부터 999까지의 숫자여야 합니다: '{value}'", value=str(raw)[:30]))
        field.data = number   # 0: after the last line


class AgentAwayForm(ConsoleForm):
    """An agent line away (자리비움) or back, from the dashboard."""

    away = Ticked()
    next = Back()


# -- 콜백 처리 ------------------------------------------------------------------------

class CallbackForm(ConsoleForm):
    """A callback's status and the agent's note (at most 200 characters)."""

    status = StringField(default="")
    note = StringField(filters=[_strip], default="")
    next = Back()

    @property
    def note_text(self) -> str | None:
        return (self.note.data or "")[:200] or None


# -- 캠페인 ------------------------------------------------------------------------

class CampaignActionForm(ConsoleForm):
    """Start, pause, resume or stop: where to go back to, and for stop the
    manager's tick that a stopped campaign never calls again."""

    next = Back()
    stop_confirmed = Ticked()


# What a live campaign's page may change (the rest of its snapshot stays):
# calling hours, retries, agent connection and ringing, with their labels.
LIVE_SETTING_LABELS = {
    "call_hours_start": "발신 시작 시각", "call_hours_end": "발신 종료 시각",
    "no_answer_max_attempts": "무응답 최대 시도", "no_answer_retry_delay_min": "무응답 재시도 간격 (분)",
    "busy_max_attempts": "통화중 최대 시도", "busy_retry_delay_min": "통화중 재시도 간격 (분)",
    "connect_agent_after_intro": "안내멘트 후 상담전화 연결", "agent_ring_repeats": "벨소리 반복횟수",
    "agent_ring_cycle_s": "벨 주기 (초)", "press1_wait_s": "안내멘트 후 1번 입력 대기 (초)",
}


class CampaignSettingsForm(OperatingSettingsForm):
    """The settings of a live campaign (``LIVE_SETTING_LABELS``); its daily
    cap and refusal key stay as its snapshot has them."""

    daily_cap_per_phone = None
    refuse_key = None


RULES_NOT_CONFIRMED = ("선거운동 캠페인은 규칙을 확인해야 만들 수 있습니다. "
                       "‘위 내용을 확인했습니다’에 표시하세요. 캠페인은 만들어지지 않았습니다.")


class CampaignForm(ConsoleForm):
    """A new campaign. A form without a type is an election campaign, the
    strictest: it cannot skip the rules confirmation by leaving the select out."""

    name = StringField(default="")
    list_id = StringField()
    kind = StringField()
    rules_confirmed = Ticked()

    @property
    def campaign_kind(self) -> str:
        return self.kind.data or "election"

    @property
    def list_number(self) -> int:
        try:
            return int(self.list_id.data) or 0
        except (TypeError, ValueError):
            return 0

    def validate_rules_confirmed(self, field):
        if self.campaign_kind == "election" and not field.data:
            raise ValidationError(RULES_NOT_CONFIRMED)

    exclude_reached = Ticked()
    reached = Values()

    @property
    def excluded_kinds(self) -> tuple[str, ...]:
        """The kinds of voters reached in earlier campaigns to leave out (none unless ticked)."""
        return tuple(self.reached.data or ()) if self.exclude_reached.data else ()

    def validate_reached(self, field):
        _check_reached(field.data, self.exclude_reached.data)


# 이전 캠페인에서 응답한 유권자 제외: the kinds a manager may pick (db.REACHED_KINDS).
REACHED_LABELS = {"listened": "응답 (안내를 들음)", "connected": "상담원 연결", "callback": "콜백 요청",
                  "refused": "수신거부(키패드)"}
REACHED_UNKNOWN = "알 수 없는 응답 종류입니다: {kinds}. 캠페인은 만들어지지 않았습니다."
REACHED_NONE = "제외할 응답 종류를 하나 이상 고르세요. 캠페인은 만들어지지 않았습니다."


def _check_reached(kinds, wanted: bool) -> None:
    unknown = sorted(set(kinds or ()) - set(db.REACHED_KINDS))
    if unknown:
        raise ValidationError(_(REACHED_UNKNOWN, kinds=", ".join(k[:20] for k in unknown[:5])))
    if wanted and not kinds:
        raise ValidationError(_(REACHED_NONE))


class ExclusionPreviewForm(ConsoleForm):
    """The new-campaign page's question: how many of this list were reached so?"""

    list_id = StringField()
    reached = Values()

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(self.reached.data or ())

    def validate_list_id(self, field):
        if not (field.data or "").isdigit() or len(field.data) > 18:
            raise ValidationError(_("호출자료 번호가 올바르지 않습니다."))

    def validate_reached(self, field):
        _check_reached(field.data, False)


# -- 폰 등록 -------------------------------------------------------------------------

MODES = (("router", "공유기접속"), ("internet", "인터넷연결"), ("sim", "시뮬레이터"))


class PhoneForm(ConsoleForm):
    """A phone's name (1-60 characters), group and whether it may work."""

    name = StringField(filters=[_strip], default="")
    group = StringField(filters=[_strip], default="")
    enabled = Present()

    @property
    def group_name(self) -> str | None:
        return (self.group.data or "")[:40] or None

    def validate_name(self, field):
        if not 1 <= len(field.data or "") <= 60:
            raise ValidationError(_("폰 이름은 1-60자로 적으세요."))


class NewPhoneForm(PhoneForm):
    """A phone registered on the console: also its connection mode."""

    mode = StringField(default="router")

    def validate_mode(self, field):
        if field.data not in dict(MODES):
            raise ValidationError(_("알 수 없는 접속 방식입니다: '{value}'", value=str(field.data)[:30]))


class EnrolKeyForm(ConsoleForm):
    """A new enrolment key, or none (phones then need the manager's approval)."""

    action = StringField(default="new")

    def validate_action(self, field):
        field.data = field.data or "new"
        if field.data not in ("new", "disable"):
            raise ValidationError(_("알 수 없는 등록 키 작업입니다: '{value}'", value=str(field.data)[:30]))


# -- 접근관리 and 수신거부 --------------------------------------------------------------

class AccessForm(ConsoleForm):
    """The console's allow-list: one network (or address) a line."""

    networks = StringField(default="")

    def validate_networks(self, field):
        try:
            self.parsed = parse_networks(field.data or "")
        except ValueError as exc:
            raise ValidationError(str(exc)) from None


class DoNotCallForm(ConsoleForm):
    """Numbers to put on 수신거부, one a line (any format), with a note."""

    numbers = StringField(default="")
    note = StringField(filters=[_strip], default="")

    def validate_numbers(self, field):
        """Every line must be a number; each bad one is an error (the first 20 are kept)."""
        self.normalised, bad = [], []
        for line in (line.strip() for line in (field.data or "").splitlines()):
            if not line:
                continue
            try:
                self.normalised.append(normalize(line))
            except InvalidNumber as exc:
                bad.append(f"{line}: {exc.message}")
        if bad:
            field.errors.extend(bad[:20])
            raise StopValidation()

    @property
    def note_text(self) -> str | None:
        return (self.note.data or "")[:200] or None
