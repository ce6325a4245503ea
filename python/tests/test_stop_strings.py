"""Stop strings over a growing output (mlx_runtime/stop_strings.py): the cut at the earliest stop
string, and the held-back tail that may start one."""

from mlx_runtime.stop_strings import cut_at_stop, emit_limit


def test_cut_at_the_earliest_stop_string():
    assert cut_at_stop("hello END world STOP", 0, ["STOP", "END"]) == ("hello ", "END")
    assert cut_at_stop("hello", 0, ["STOP"]) == ("hello", None)
    assert cut_at_stop("hello", 0, []) == ("hello", None)


def test_a_stop_string_split_across_tokens_is_found_from_the_emitted_part():
    # "EN" was emitted-pending (held back), "D" completes it
    assert cut_at_stop("abcEND", 3, ["END"]) == ("abc", "END")


def test_a_tail_that_may_start_a_stop_string_is_held_back_until_finished():
    assert emit_limit("abcEN", ["END"], None) == 3
    assert emit_limit("abcEN", ["END"], "length") == 5
    assert emit_limit("abcx", ["END"], None) == 4
    assert emit_limit("abc", [], None) == 3
