"""A manager (or anyone editing the address bar) types any ?page= into a
listing: never a 500. Past the last page shows the last page; nonsense and
zero or negative numbers show the first. Ids in URLs too large for SQLite
are "not found", like any unknown id."""

from __future__ import annotations

import re

import pytest

from server import db, sample
from server.console import MAX_PAGE, requested_page

from .conftest import page_text

ODD_PAGES = ["1e20", "99999999999999999999", "9" * 5000, "inf", "-5", "0", "abc", "", "nan", "-inf", "2.5"]


@pytest.mark.parametrize("value, page", [
    (None, 1), ("", 1), ("3", 3), (" 7 ", 7), ("+4", 4), ("0", 1), ("-5", 1), ("abc", 1), ("nan", 1),
    ("-inf", 1), ("2.5", 2), ("1e20", MAX_PAGE), ("99999999999999999999", MAX_PAGE), ("inf", MAX_PAGE),
    ("9" * 5000, MAX_PAGE), (str(MAX_PAGE + 1), MAX_PAGE),
])
def test_what_a_page_argument_asks_for(value, page):
    assert requested_page(value) == page


@pytest.fixture
def listings(app, store):
    """Listings with three pages each (50 rows a page): 수신거부, the audit
    log, a call list; callbacks and call records have one page."""
    db.add_do_not_call(store, [f"010{n:08d}" for n in range(20_000_000, 20_000_120)], "test")
    for n in range(130):
        db.audit(store, "settings", actor="manager", target=f"entry {n}")
    seeded = sample.seed_campaign(app.config["DATABASE"], app.config["UPLOADS"], contacts=120)
    return {"/contacts/do-not-call": 3, "/audit/": 3, f"/contacts/{seeded['list_id']}": 3,
            "/callbacks/": 1, "/calls/": 1}


def shown_page(response) -> tuple[int, int] | None:
    match = re.search(r"(\d+) / (\d+)", page_text(response))
    return (int(match.group(1)), int(match.group(2))) if match else None


def test_any_page_number_in_any_listing_answers_a_page(logged_in, client, listings):
    for path, pages in listings.items():
        for value in ODD_PAGES:
            response = client.get(path, query_string={"page": value})
            assert response.status_code == 200, (path, value)
            if pages > 1:
                assert shown_page(response) == (min(requested_page(value), pages), pages), (path, value)


def test_a_page_past_the_end_shows_the_last_pages_rows(logged_in, client, listings):
    last = client.get("/contacts/do-not-call?page=3")
    beyond = client.get("/contacts/do-not-call?page=1e20")
    numbers = lambda response: re.findall(r"010-\d{4}-\d{4}", page_text(response))
    assert len(numbers(last)) == 20 and numbers(beyond) == numbers(last)
    assert shown_page(beyond) == (3, 3)


def test_other_query_arguments_survive_the_clamp(logged_in, client, listings):
    response = client.get("/audit/?q=entry&page=99999999999999999999")
    assert response.status_code == 200 and shown_page(response) == (3, 3)
    previous = re.search(r'href="([^"]+)">‹', response.get_data(as_text=True)).group(1)
    assert "q=entry" in previous and "page=2" in previous


def test_ids_too_large_for_sqlite_are_not_found(logged_in, client, listings):
    huge = "99999999999999999999"
    for path in (f"/contacts/{huge}", f"/campaigns/{huge}", f"/ments/{huge}.wav", f"/images/{huge}.jpg"):
        assert client.get(path).status_code == 404, path
    assert logged_in.post(f"/phones/{huge}/probe-audio").status_code == 404
    assert client.get(f"/calls/?campaign={huge}").status_code == 200
