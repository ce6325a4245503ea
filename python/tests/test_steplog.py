"""The step log (mlx_runtime/steplog.py): one line per window of BatchGenerator steps, when asked."""

from __future__ import annotations

import sys
import time

from mlx_runtime import steplog


def test_summarize_a_window():
    # (step_ms, decode_batch, prefill_tokens, waiting, padded_tokens, real_tokens)
    steps = [(10.0, 4, 0, 0, 400, 200), (30.0, 4, 64, 2, 400, 200), (20.0, 2, 0, 0, 100, 100)]
    fields = steplog.summarize(steps).split()
    assert fields == ["3", "20.0", "30.0", "30.0", "3.3", "0.33", "64", "0.7", "1.80", "60"]
    assert steplog.summarize([]) == "0 0 0 0 0 0 0 0 0 0"


def test_logs_the_steps_of_a_batch_generator(tiny_lm, tmp_path, monkeypatch):
    import mlx_lm.generate  # noqa: F401

    gen = sys.modules["mlx_lm.generate"]
    monkeypatch.setattr(gen.BatchGenerator, "_next", gen.BatchGenerator._next)  # restored after the test
    monkeypatch.delenv(steplog.ENV_VAR, raising=False)
    assert steplog.start("off") is False
    monkeypatch.setenv(steplog.ENV_VAR, str(tmp_path))
    monkeypatch.setattr(steplog, "INTERVAL_S", 0.2)
    assert steplog.start("probe") is True

    model, _ = tiny_lm
    bg = gen.BatchGenerator(model, completion_batch_size=8, prefill_batch_size=4, prefill_step_size=16)
    pending = set(bg.insert([[5 + i for i in range(40)], [9, 8, 7]], max_tokens=[6, 6]))
    deadline = time.time() + 10
    while pending and time.time() < deadline:
        _, responses = bg.next()
        pending -= {r.uid for r in responses if r.finish_reason is not None}
    assert not pending
    time.sleep(0.5)  # two more windows: the last steps are written
    bg.close()
    lines = next(tmp_path.glob("probe-steps-*.log")).read_text().splitlines()
    assert lines[0].split()[0] == "seconds" and len(lines[0].split()) == 11
    busy = [line.split() for line in lines[1:] if int(line.split()[1]) > 0]
    assert busy, lines
    assert all(float(b[2]) > 0 for b in busy)  # idle calls are not steps
    assert max(float(b[5]) for b in busy) > 0  # sequences decoded
    # the prompts were prefilled (43 tokens; mlx-lm keeps each prompt's last one for decode)
    assert sum(int(b[7]) for b in busy) >= 40
    assert all(float(b[9]) >= 1.0 for b in busy if float(b[5]) > 0)  # padded >= real
