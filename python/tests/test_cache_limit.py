"""MLX's buffer-cache limit (mlx_runtime/cache_limit.py): the rule, and its application on this device."""

import pytest

from mlx_runtime import cache_limit
from mlx_runtime.cache_limit import CACHE_FRACTION, CACHE_MAX_BYTES, ENV_VAR, cache_limit_for


def test_gpu_gets_a_fraction_of_its_memory_capped():
    assert cache_limit_for(device="gpu", memory_bytes=40 << 30, configured=None) == int((40 << 30) * CACHE_FRACTION)
    # an H200 (150.7 GB): 7.5 GB; a 512 GB unified Mac: the cap, not 5 %
    assert cache_limit_for(device="gpu", memory_bytes=150_754_820_096, configured=None) == 7_537_741_004
    assert cache_limit_for(device="gpu", memory_bytes=512 << 30, configured=None) == CACHE_MAX_BYTES


def test_cpu_and_unknown_memory_keep_mlx_default():
    assert cache_limit_for(device="cpu", memory_bytes=24 << 30, configured=None) is None
    assert cache_limit_for(device="gpu", memory_bytes=None, configured=None) is None
    assert cache_limit_for(device="gpu", memory_bytes=0, configured="") is None


def test_configured_wins_on_any_device():
    assert cache_limit_for(device="cpu", memory_bytes=None, configured="0") == 0
    assert cache_limit_for(device="gpu", memory_bytes=150 << 30, configured=" 1048576 ") == 1 << 20


@pytest.mark.parametrize("bad", ["lots", "1.5e9", "-1"])
def test_configured_must_be_whole_non_negative_bytes(bad):
    with pytest.raises(ValueError, match=ENV_VAR):
        cache_limit_for(device="gpu", memory_bytes=1 << 30, configured=bad)


def test_apply_sets_the_configured_limit_through_mlx():
    import mlx.core as mx

    before = mx.set_cache_limit(0)  # returns the previous limit
    mx.set_cache_limit(before)
    try:
        got = cache_limit.apply({ENV_VAR: str(3 << 20)})
        assert got == {"cache_limit_bytes": 3 << 20, "source": "configured"}
        assert mx.set_cache_limit(before) == 3 << 20
    finally:
        mx.set_cache_limit(before)


def test_apply_unconfigured_follows_the_device():
    import mlx.core as mx

    before = mx.set_cache_limit(0)
    mx.set_cache_limit(before)
    try:
        got = cache_limit.apply({})
        if mx.default_device().type == mx.gpu:
            assert got["source"] == f"gpu:{CACHE_FRACTION}" and 0 < got["cache_limit_bytes"] <= CACHE_MAX_BYTES
        else:
            assert got == {"cache_limit_bytes": None, "source": "mlx-default"}
            assert mx.set_cache_limit(before) == before  # untouched
    finally:
        mx.set_cache_limit(before)


def test_memlog_writes_mlx_counters_when_asked(tmp_path, monkeypatch):
    import time

    from mlx_runtime import memlog

    monkeypatch.delenv(memlog.ENV_VAR, raising=False)
    assert memlog.start("off") is False
    monkeypatch.setenv(memlog.ENV_VAR, str(tmp_path))
    assert memlog.start("probe") is True
    deadline = time.time() + 5
    lines: list = []
    while time.time() < deadline and len(lines) < 2:
        files = list(tmp_path.glob("probe-*.log"))
        lines = files[0].read_text().splitlines() if files else []
        time.sleep(0.05)
    assert lines[0] == "seconds active_bytes cache_bytes peak_bytes"
    fields = lines[1].split()
    assert len(fields) == 4 and all(int(x) >= 0 for x in fields[1:])
