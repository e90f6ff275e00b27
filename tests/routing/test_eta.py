import pytest

from routing.eta import estimate_wait_seconds, typical_handle_seconds


def test_typical_handle_is_the_median_or_the_default():
    assert typical_handle_seconds([100, 200, 9000], 300) == 200
    assert typical_handle_seconds([], 300) == 300
    assert typical_handle_seconds([-5], 300) == 300


def test_nobody_online_means_unknown():
    assert estimate_wait_seconds(1, [100], [], 300) is None
    assert estimate_wait_seconds(1, [100], [(0, 0)], 300) is None


def test_free_slots_mean_no_wait():
    assert estimate_wait_seconds(2, [100], [(1, 3)], 300) == 0.0


def test_wait_grows_with_position_and_shrinks_with_staff():
    history = [120.0, 120.0, 120.0]
    one_agent = [estimate_wait_seconds(p, history, [(3, 3)], 300) for p in (1, 2, 3)]
    assert one_agent == [40.0, 80.0, 120.0]
    two_agents = estimate_wait_seconds(3, history, [(3, 3), (3, 3)], 300)
    assert two_agents == 60.0


def test_history_not_a_constant_decides():
    slow = estimate_wait_seconds(5, [600.0], [(2, 2)], 300)
    fast = estimate_wait_seconds(5, [60.0], [(2, 2)], 300)
    default = estimate_wait_seconds(5, [], [(2, 2)], 300)
    assert slow == 1500.0 and fast == 150.0 and default == 750.0


def test_position_is_one_based():
    with pytest.raises(ValueError):
        estimate_wait_seconds(0, [], [(0, 1)], 300)
