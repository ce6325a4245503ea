"""The GPU probes' decode batch: context lengths as phase 3's multi-turn conversations (bucket_probe.py,
insert_probe.py). Lognormal of mean `mean` tokens and CV 1, clipped to 16-8,192, from a fixed seed."""
import math
import random


def lognormal_contexts(n, mean, seed=15):
    rng = random.Random(seed)
    sigma = math.sqrt(math.log(2.0))  # CV 1
    mu = math.log(mean) - sigma * sigma / 2
    return [max(16, min(8192, int(rng.lognormvariate(mu, sigma)))) for _ in range(n)]
