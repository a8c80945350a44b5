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
