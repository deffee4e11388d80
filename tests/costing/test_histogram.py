from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from costing import histogram

latencies = st.lists(
    st.floats(min_value=0, max_value=1e5, allow_nan=False), min_size=1, max_size=200
)


@given(values=latencies)
def test_percentile_bounds_the_true_value_within_one_bucket(values: list[float]) -> None:
    counts = histogram.add({}, values)
    ordered = sorted(values)
    for pct in (50, 95, 99):
        true = ordered[max(0, -(-len(values) * pct // 100) - 1)]
        estimate = histogram.percentile(counts, pct)
        assert estimate is not None
        assert true <= estimate * (1 + 1e-9)
        assert estimate <= max(true, histogram.FLOOR_MS) * histogram.GROWTH * (1 + 1e-9)


@given(a=latencies, b=latencies)
def test_merging_equals_counting_together(a: list[float], b: list[float]) -> None:
    assert histogram.merge(histogram.add({}, a), histogram.add({}, b)) == histogram.add({}, a + b)


def test_an_empty_histogram_has_no_percentile() -> None:
    assert histogram.percentile({}, 50) is None
