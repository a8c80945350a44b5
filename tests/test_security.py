"""Pure rules: hashing, the lock-out policy with an injected clock, allow-lists."""

import pytest

from server.security import (LockoutPolicy, address_allowed, hash_secret, parse_networks,
                             validate_new_credentials, verify_secret)


def test_hash_and_verify():
    stored = hash_secret("1234")
    assert stored != "1234" and verify_secret(stored, "1234")
    assert not verify_secret(stored, "1235")
    assert not verify_secret("not a hash", "1234")


def test_lockout_policy_bans_at_the_third_failure():
    policy = LockoutPolicy(max_failures=3, window_s=600, ban_s=86_400)
    now = 1000.0
    assert policy.ban_until(now, 1, 1) is None
    assert policy.ban_until(now, 2, 0) is None
    assert policy.ban_until(now, 3, 0) == now + 86_400
    assert policy.ban_until(now, 0, 3) == now + 86_400


def test_new_credentials_rules():
    assert validate_new_credentials("admin", "longenough", "1234") == []
    problems = validate_new_credentials("has space", "short", "12a")
    assert len(problems) == 3


def test_allow_list_parsing_and_matching():
    nets = parse_networks("172.16.0.0/24, 10.0.0.5\n# comment\n::1/128")
    assert address_allowed("172.16.0.42", nets)
    assert address_allowed("10.0.0.5", nets)
    assert not address_allowed("10.0.0.6", nets)
    assert address_allowed("127.0.0.1", nets)  # loopback always allowed
    assert address_allowed("8.8.8.8", [])        # empty list allows all
    assert not address_allowed("garbage", nets)
    with pytest.raises(ValueError, match="'172.16.0.0/33' is not an IP address or network"):
        parse_networks("172.16.0.0/33")


def test_a_session_may_be_used_until_it_ends_goes_idle_or_grows_old():
    from server.security import session_end_reason
    row = {"created_at": 1000.0, "last_seen": 1000.0, "ended_at": None, "end_reason": None, "disabled_at": None}
    rule = dict(idle_s=1800, max_s=86_400)
    assert session_end_reason(row, 1000.0 + 1800, **rule) is None
    assert session_end_reason(row, 1000.0 + 1801, **rule) == "idle"
    busy = dict(row, last_seen=1000.0 + 86_000)
    assert session_end_reason(busy, 1000.0 + 86_400, **rule) is None
    assert session_end_reason(busy, 1000.0 + 86_401, **rule) == "expired"
    assert session_end_reason(dict(row, ended_at=1200.0, end_reason="logout"), 1300.0, **rule) == "logout"
    assert session_end_reason(dict(row, disabled_at="2026-12-01"), 1300.0, **rule) == "manager disabled"
    assert session_end_reason(None, 1300.0, **rule) == "unknown"


def test_the_browser_summary_is_short_whatever_the_header_says():
    from server.security import user_agent_summary
    chrome = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/131.0.0.0 Safari/537.36")
    assert user_agent_summary(chrome) == "Chrome / Windows"
    assert user_agent_summary(chrome.replace("Chrome/131.0.0.0", "Chrome/131.0.0.0 Whale/4.29")) == "Whale / Windows"
    assert len(user_agent_summary("x" * 10_000)) <= 40
    assert user_agent_summary(None) == "?"
