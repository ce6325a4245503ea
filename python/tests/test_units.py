"""Unit tests of pieces (in-process, no subprocess)."""

import mlx.core as mx
from mlx_lm.models.cache import KVCache

from mlx_runtime.prompt_cache import SessionPromptCache, common_prefix_len
from mlx_runtime.sampling import make_request_sampler


def _cache(n_tokens: int, layers: int = 2):
    caches = []
    for _ in range(layers):
        c = KVCache()
        k = mx.ones((1, 2, n_tokens, 4))
        c.update_and_fetch(k, k)
        caches.append(c)
    return caches


def test_common_prefix_len():
    assert common_prefix_len([1, 2, 3], [1, 2, 4]) == 2
    assert common_prefix_len([], [1]) == 0
    assert common_prefix_len([1, 2], [1, 2, 3]) == 2


def test_take_trims_to_common_prefix_and_counts():
    pc = SessionPromptCache(max_entries=4)
    pc.put(("m", "s"), [1, 2, 3, 4, 5], _cache(5))
    cache, n = pc.take(("m", "s"), [1, 2, 3, 9, 9])
    assert n == 3 and all(c.offset == 3 for c in cache)
    assert pc.hits == 1 and pc.misses == 0 and len(pc) == 0 and pc.nbytes == 0
    assert pc.take(("m", "s"), [1, 2]) == (None, 0)
    assert pc.misses == 1


def test_take_always_leaves_one_token():
    pc = SessionPromptCache()
    pc.put("k", [1, 2, 3], _cache(3))
    cache, n = pc.take("k", [1, 2, 3])
    assert n == 2 and cache[0].offset == 2


def test_lru_bound_and_eviction():
    pc = SessionPromptCache(max_entries=2)
    pc.put("a", [1], _cache(1))
    pc.put("b", [1], _cache(1))
    pc.take("a", [1, 2])  # a is taken out...
    pc.put("a", [1, 2], _cache(2))  # ...and put back: most recent
    pc.put("c", [1], _cache(1))  # evicts b
    assert pc.evictions == 1 and len(pc) == 2
    assert pc.take("b", [1, 2]) == (None, 0)
    freed = pc.evict_one()
    assert freed > 0 and len(pc) == 1


def test_bytes_bound():
    one = sum(c.nbytes for c in _cache(1))
    pc = SessionPromptCache(max_entries=10, max_bytes=one * 2)
    for k in "abc":
        pc.put(k, [1], _cache(1))
    assert len(pc) == 2 and pc.nbytes <= one * 2


def test_seeded_sampler_is_deterministic_and_greedy_is_none():
    assert make_request_sampler(0.0, 1.0, 5) is None
    logits = mx.log(mx.softmax(mx.random.normal((1, 50), key=mx.random.key(0)), axis=-1))
    a = make_request_sampler(1.0, 1.0, 42)
    b = make_request_sampler(1.0, 1.0, 42)
    sa = [a(logits).item() for _ in range(20)]
    sb = [b(logits).item() for _ in range(20)]
    assert sa == sb and len(set(sa)) > 1
    c = make_request_sampler(1.0, 0.05, 42)  # tiny nucleus: (almost) always the top token
    top = mx.argmax(logits, axis=-1).item()
    assert [c(logits).item() for _ in range(10)] == [top] * 10
