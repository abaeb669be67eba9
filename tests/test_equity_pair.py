"""The equity summary's "same poverty, different spending" pair, found without an n x n matrix,
is the pair the matrix finds (ties included), on random schools."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from wsf.equity.summary import SAME_POVERTY, widest_close_pair


def by_matrix(share: np.ndarray, spend: np.ndarray, level: list[str]) -> tuple[int, int] | None:
    levels = np.array(level, dtype=object)
    close = (np.abs(share[:, None] - share[None, :]) <= SAME_POVERTY) & (levels[:, None] == levels[None, :])
    spread = np.where(close, spend[:, None] - spend[None, :], -1)
    i, j = np.unravel_index(np.argmax(spread), spread.shape)
    return None if spread[i, j] <= 0 else (int(i), int(j))


school = st.tuples(
    st.sampled_from([0.0, 0.01, 0.02, 0.03, 0.031, 0.05, 0.25, 0.26, 0.28, 0.9]) | st.floats(0, 1),
    st.sampled_from([0.0, 5000.0, 5000.5, 7250.0]) | st.floats(0, 30000),
    st.sampled_from(["ES", "MS", ""]),
)


@settings(max_examples=500, deadline=None)
@given(st.lists(school, min_size=1, max_size=30))
def test_the_pair_is_the_matrix_pair(schools):
    share, spend, level = (np.array([s[0] for s in schools]), np.array([s[1] for s in schools]), [s[2] for s in schools])
    assert widest_close_pair(share, spend, level) == by_matrix(share, spend, level)


def test_ten_thousand_schools_need_no_matrix():
    rng = np.random.default_rng(7)
    share, spend = rng.random(10_000), rng.normal(9000, 1500, 10_000)
    i, j = widest_close_pair(share, spend, ["ES"] * 10_000)
    assert abs(share[i] - share[j]) <= SAME_POVERTY and spend[i] - spend[j] > 0
