"""Every response carries the security headers: no page can be framed by
another site, no script or style can run unless the app served it as a file,
browsers do not guess content types, and nothing with voters' data stays in
a browser's cache. Every console page is walked, logged in; every page's HTML
is checked for what the policy would block (inline scripts, event handler
attributes, style attributes, javascript: links)."""

from __future__ import annotations

import re

import pytest

from server import db, sample
from server.headers import content_security_policy
from server.security import token_sha256

from .test_contacts_views import CSV, start_upload, wait_for

TOKEN = "h" * 43
SVG_POLICY = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"


@pytest.fixture
def console_urls(app, logged_in, client, store):
    """A URL for every GET route of the app, with real rows behind each id:
    a campaign with a finished call, a call list with rejects, an upload
    waiting in preview, a join request, an asset for a phone."""
    seeded = sample.seed_campaign(app.config["DATABASE"], app.config["UPLOADS"], contacts=6, bad_every=3,
                                  intro_s=0.3, settings={"call_hours_start": "00:00", "call_hours_end": "23:59"})
    call_id = make_a_call(app, store, seeded)
    job = start_upload(logged_in, CSV.encode(), "voters.csv", "미리보기 목록").get_json()
    assert wait_for(client, job["status"])["state"] == "ready"
    asked = client.post("/api/phones/join", json={"name": "rack-09", "mode": "internet"}).get_json()
    ment_id = db.ments(store)[0]["id"]
    image_id = db.images(store)[0]["id"]
    values = {"list_id": seeded["list_id"], "campaign_id": seeded["campaign_id"], "ment_id": ment_id,
              "image_id": image_id, "call_id": call_id, "job_id": job["job"], "code": "ko",
              "request_id": asked["request_id"], "sha256": seeded["assets"]["intro"][0],
              "filename": "app.js", "name": "hourly"}
    urls = {}
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods:
            continue
        missing = set(rule.arguments) - set(values)
        assert not missing, f"{rule.rule}: the walk needs a value for {missing}"
        url = rule.rule
        for name in rule.arguments:
            url = re.sub(rf"<(?:[a-z]+:)?{name}>", str(values[name]), url)
        urls[rule.endpoint] = url
    app.config["EXPORT_DIRECT_ROWS"] = 0          # the calls export runs as a job: its pages too
    export_job = logged_in.post("/exports/calls", {"format": "csv"}).headers["Location"].rsplit("/", 1)[-1]
    for endpoint, url in urls.items():
        if endpoint.startswith("exports."):
            urls[endpoint] = url.replace(str(job["job"]), export_job)
    urls["campaigns.preview"] += f"?list_id={seeded['list_id']}&reached=listened"   # it answers a question
    urls["phone_api.agent_download"] = re.search(
        r"/phone-agent/[^\s<\"]+\.tar\.gz", client.get("/phone-agent/").get_data(as_text=True)).group(0)
    client.phone_headers = {"Authorization": f"Bearer {TOKEN}", "X-Poll-Secret": asked["poll_secret"]}
    return urls


def make_a_call(app, store, seeded) -> str:
    """One call through the real engine, from answer to a callback request."""
    engine = app.extensions["ars_engine"]
    phone_id = db.create_phone(store, name="rack-01", mode="sim", token_sha256=token_sha256(TOKEN))
    engine.reload_phone(phone_id)
    engine.set_campaign_state(seeded["campaign_id"], "running")
    phone = engine.authenticate({"token": TOKEN, "protocol": 1})
    engine.roster.connected(phone, "sid-1")
    assets = seeded["assets"]
    engine.hello(phone_id, {"agent": "t", "mode": "sim", "backend": "sim",
                            "assets": [*assets["intro"], *assets["promise"], *assets["callback"],
                                       assets["outgoing_image"], assets["callback_image"]]})
    (call,) = engine.lease(phone_id, {"want": 1})["batch"]["calls"]
    for seq, (event, data) in enumerate((("dialing", {}), ("answered", {}), ("dtmf", {"digit": "1"}),
                                         ("promise_started", {}), ("ended", {"result": "callback_requested"})),
                                        start=1):
        assert engine.call_event(phone_id, {"call_id": call["call_id"], "seq": seq, "event": event,
                                            "at": 1.8e9 + seq, "data": data})["ok"]
    return call["call_id"]


def get(client, url: str):
    response = client.get(url, headers=getattr(client, "phone_headers", {}) if url.startswith("/api/") else {})
    response.close()
    return response


def test_every_page_answers_with_the_security_headers_and_none_with_personal_data_is_cached(console_urls, client):
    for endpoint, url in console_urls.items():
        response = get(client, url)
        assert response.status_code < 400, (url, response.status_code)
        headers = response.headers
        assert headers["X-Frame-Options"] == "DENY", url
        assert headers["X-Content-Type-Options"] == "nosniff", url
        assert headers["Referrer-Policy"] == "same-origin", url
        if endpoint == "statistics.chart":   # an SVG opened on its own may style itself, nothing more
            assert headers["Content-Security-Policy"] == SVG_POLICY, url
        else:
            assert headers["Content-Security-Policy"] == content_security_policy("localhost"), url
        if endpoint in ("static", "phone_api.asset", "phone_api.agent_download"):
            assert "no-store" not in headers.get("Cache-Control", ""), url
        else:                  # pages, JSON, exports: voters' numbers and names
            assert headers["Cache-Control"] == "no-store", url
            assert "Expires" not in headers, url


def test_another_site_cannot_frame_the_console(client):
    """A page of another origin that puts the login page in an iframe (the
    usual clickjacking set-up) is refused by the browser on both headers."""
    response = client.get("/login")
    assert response.headers["X-Frame-Options"] == "DENY"
    policy = dict(directive.split(" ", 1) for directive in response.headers["Content-Security-Policy"].split("; "))
    assert policy["frame-ancestors"] == "'none'"


def test_the_policy_allows_only_what_the_app_serves_itself():
    policy = dict(d.split(" ", 1) for d in content_security_policy("172.16.0.100:8000").split("; "))
    assert policy["default-src"] == policy["script-src"] == policy["style-src"] == "'self'"
    assert policy["img-src"] == "'self' data:"                 # the token's QR code is an SVG data: URI
    assert policy["object-src"] == "'none'" and policy["base-uri"] == "'self'"
    assert policy["form-action"] == "'self'"
    assert policy["connect-src"] == "'self' ws://172.16.0.100:8000 wss://172.16.0.100:8000"
    assert "unsafe" not in content_security_policy("172.16.0.100:8000")


@pytest.mark.parametrize("host", ["evil.example; script-src *", "a b", "x'y", "", None, "h" * 300])
def test_a_forged_host_header_cannot_widen_the_policy(host, client):
    policy = content_security_policy(host)
    assert policy.endswith("connect-src 'self'") and policy.count(";") == 10
    if host:
        response = client.get("/login", headers={"Host": host})
        assert "*" not in response.headers["Content-Security-Policy"]


def test_error_pages_and_phone_answers_carry_the_headers_too(client):
    for response in (client.get("/no-such-page"), client.post("/api/phones/join", json={}),
                     client.get("/api/assets/" + "0" * 64)):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Cache-Control"] == "no-store"
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


INLINE = {
    "inline script": re.compile(r"<script\b(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I),
    "event handler attribute": re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.I),
    "style attribute": re.compile(r"<[a-z][^>]*\sstyle\s*=", re.I),
    "style element": re.compile(r"<style\b", re.I),
    "javascript: URL": re.compile(r"javascript:", re.I),
}


def test_no_page_holds_what_the_policy_would_block(console_urls, client):
    for endpoint, url in console_urls.items():
        response = get(client, url)
        if response.mimetype != "text/html":
            continue
        html = response.get_data(as_text=True)
        for what, pattern in INLINE.items():
            assert not pattern.search(html), f"{url}: {what}: {pattern.search(html).group(0)[:120]}"


def test_the_error_pages_back_link_leads_home_without_javascript(client):
    page = client.post("/logout")                      # no CSRF token: the error page
    assert page.status_code == 400
    assert '<a href="/home" data-back>' in page.get_data(as_text=True)


def test_no_template_holds_what_the_policy_would_block():
    """The same check on the templates' sources, for the states a walk does
    not reach (an import still running, an error page)."""
    from pathlib import Path
    import server
    templates = sorted((Path(server.__file__).parent / "templates").rglob("*.html"))
    assert len(templates) > 20
    for template in templates:
        source = template.read_text(encoding="utf-8")
        for what, pattern in INLINE.items():
            found = pattern.search(source)
            assert not found, f"{template.name}: {what}: {found.group(0)[:120] if found else ''}"
