"""현황: what is ready for a campaign, at a glance."""

from flask import Blueprint, render_template

from .. import db
from .auth import login_required

bp = Blueprint("home", __name__)


def readiness(store) -> dict:
    ment_kinds = {m["kind"] for m in db.ments(store) if m["kind"]}
    active_images = {i["kind"] for i in db.images(store) if i["active"]}
    totals = db.contact_totals(store)
    return {
        "totals": totals,
        "checks": [
            ("호출자료", totals["contacts"] > 0),
            ("상품소개 안내멘트", "intro" in ment_kinds),
            ("빠른시간내 전화약속", "promise" in ment_kinds),
            ("콜백멘트", "callback" in ment_kinds),
            ("발신시 표시 이미지", "outgoing" in active_images),
            ("착신시 표시 이미지", "callback" in active_images),
            ("상담원", any(line["enabled"] for line in db.agent_lines(store))),
        ],
    }


@bp.route("/home")
@login_required
def index():
    return render_template("home.html", **readiness(db.get_db()))
