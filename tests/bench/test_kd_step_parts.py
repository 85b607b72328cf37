import time

import pytest
import torch

from bench.kd_step_parts import PARTS, measure


@pytest.fixture
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_the_parts_of_real_steps_are_timed_and_add_up_to_no_more_than_the_steps(one_thread):
    started = time.process_time()
    result = measure(["ce", "static"], rounds=2, steps=3)
    spent = time.process_time() - started
    ms = result["ms_per_step"]
    assert set(ms) == {"ce", "static"} and all(set(v) == set(PARTS) for v in ms.values())
    assert all(value > 0 for parts in ms.values() for value in parts.values())
    # 4 rounds (2 warm-up) of 3 steps of each method ran inside the call.
    assert sum(sum(parts.values()) for parts in ms.values()) * 3 * 4 / 1e3 < spent
    assert result["step_over_ce"]["ce"] == 1.0 and result["step_over_ce"]["static"] > 0
