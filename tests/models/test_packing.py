"""Padding-free packed batches: every text in one pack, packs of even length, each text
attending to itself only, positions restarting per text, pooling over its own tokens."""

from __future__ import annotations

import numpy as np
import pytest

from models.packing import MASKED, packed_feed, packs


def test_every_text_lands_in_exactly_one_of_as_few_packs_as_the_total_needs() -> None:
    lengths = [15, 3, 40, 22, 9, 64, 17, 5, 30, 12]
    groups = packs(lengths, limit=64)
    assert sorted(i for group in groups for i in group) == list(range(len(lengths)))
    sizes = [sum(lengths[i] for i in group) for group in groups]
    assert len(groups) == -(-sum(lengths) // 64)  # as few packs as the total needs
    assert max(sizes) - min(sizes) <= max(lengths)  # longest first into the emptiest: even


def test_a_text_longer_than_the_limit_still_gets_a_pack() -> None:
    assert packs([300], limit=256) == [[0]]
    assert packs([], limit=256) == []
    with pytest.raises(ValueError, match="at least one token"):
        packs([4, 0])


def test_the_feed_keeps_texts_apart() -> None:
    rows = [[101, 7, 8, 102], [101, 9, 102], [101, 5, 6, 4, 102]]
    feed = packed_feed(rows, pooling="mean", pad_id=0, limit=8)
    packs_, width = feed.input_ids.shape
    assert feed.attention_bias.shape == (packs_, 1, width, width)
    assert feed.pool.shape == (3, packs_ * width)
    flat_ids = feed.input_ids.reshape(-1)
    flat_positions = feed.position_ids.reshape(-1)
    for index, row in enumerate(rows):
        mine = np.flatnonzero(feed.pool[index])
        assert flat_ids[mine].tolist() == row  # its own tokens, in order
        assert flat_positions[mine].tolist() == list(range(len(row)))  # positions restart
        np.testing.assert_allclose(feed.pool[index, mine], 1 / len(row))
        pack, first = divmod(int(mine[0]), width)
        seen = feed.attention_bias[pack, 0, first]
        columns = np.flatnonzero(seen == 0) + pack * width
        assert columns.tolist() == mine.tolist()  # attends to itself only
        assert set(seen[seen != 0].tolist()) <= {MASKED}


def test_cls_pooling_takes_each_texts_first_token() -> None:
    rows = [[101, 7, 102], [101, 9, 9, 102]]
    feed = packed_feed(rows, pooling="cls", pad_id=0)
    assert feed.input_ids.reshape(-1)[feed.pool.argmax(axis=1)].tolist() == [101, 101]
    assert feed.pool.sum(axis=1).tolist() == [1.0, 1.0]
    with pytest.raises(ValueError, match="unknown pooling"):
        packed_feed(rows, pooling="max", pad_id=0)
