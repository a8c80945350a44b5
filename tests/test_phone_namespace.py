"""The /phone namespace's own bookkeeping, without a connection."""

from server.phones.namespace import PhoneNamespace


def test_the_handling_summary_gives_the_median_and_the_99th_percentile_per_event():
    namespace = PhoneNamespace(engine=None)
    namespace.handling_s["heartbeat"] = [i / 1000 for i in range(1, 102)]   # 1 … 101 ms
    namespace.handling_s["lease"] = [0.004]
    assert namespace.handling_summary() == {"heartbeat": {"n": 101, "p50_ms": 51.0, "p99_ms": 100.0},
                                            "lease": {"n": 1, "p50_ms": 4.0, "p99_ms": 4.0}}
