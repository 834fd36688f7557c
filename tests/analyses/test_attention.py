import pytest

from analyses.attention import kv_index


def test_kv_index_groups_consecutive_heads():
    assert kv_index(8, 2).tolist() == [0, 0, 0, 0, 1, 1, 1, 1]
    assert kv_index(4, 4).tolist() == [0, 1, 2, 3]
    with pytest.raises(ValueError):
        kv_index(6, 4)
