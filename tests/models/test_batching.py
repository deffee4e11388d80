"""Length buckets of the served forward: sorted by length, cut by rows and by padding."""

from __future__ import annotations

from models.batching import fitted_batches


def test_rows_sorted_by_length_and_cut_where_padding_would_pass_the_limit() -> None:
    lengths = [30, 10, 11, 12, 31, 10, 60]
    batches = fitted_batches(lengths, 4, 0.1)
    assert [[lengths[i] for i in batch] for batch in batches] == [
        [10, 10, 11],  # adding 12 pads 1 - 43/48 = 10.4% of the computed tokens
        [12],
        [30, 31],
        [60],
    ]
    assert sorted(i for batch in batches for i in batch) == list(range(len(lengths)))


def test_a_limit_of_one_cuts_by_rows_only() -> None:
    lengths = [5, 50, 6, 7, 60]
    assert [len(b) for b in fitted_batches(lengths, 2, 1.0)] == [2, 2, 1]
    assert fitted_batches([], 16, 0.1) == []
    assert fitted_batches([0, 0], 16, 0.1) == [[0, 1]]


def test_a_cut_is_made_only_where_it_saves_more_than_a_forward_costs() -> None:
    lengths = [10, 10, 10, 14, 30]
    # 14 after three rows of 10 saves 3 * 4 = 12 padded tokens; 30 after four saves 4 * 16 = 64
    assert [len(b) for b in fitted_batches(lengths, 8, 0.1, forward_tokens=0)] == [3, 1, 1]
    assert [len(b) for b in fitted_batches(lengths, 8, 0.1, forward_tokens=12)] == [4, 1]
    assert [len(b) for b in fitted_batches(lengths, 8, 0.1, forward_tokens=64)] == [5]
    assert [len(b) for b in fitted_batches(lengths, 2, 0.1, forward_tokens=64)] == [2, 2, 1]
