from routing.assignment import Candidate, assignment_order, can_serve_queue, pick_assignee
from routing.models import QueueName, Role, Staff


def test_least_loaded_wins():
    candidates = [Candidate("a", 3, 5), Candidate("b", 1, 5), Candidate("c", 2, 5)]
    assert pick_assignee(candidates, 0) == "b"
    assert pick_assignee(candidates, 7) == "b"


def test_full_staff_are_skipped_even_if_least_loaded_elsewhere():
    candidates = [Candidate("a", 2, 2), Candidate("b", 4, 5)]
    assert pick_assignee(candidates, 0) == "b"
    assert pick_assignee([Candidate("a", 2, 2), Candidate("z", 0, 0)], 0) is None
    assert pick_assignee([], 0) is None


def test_ties_rotate_round_robin_in_id_order():
    candidates = [Candidate("c", 1, 3), Candidate("a", 1, 3), Candidate("b", 1, 3), Candidate("d", 2, 3)]
    picks = [pick_assignee(candidates, turn) for turn in range(6)]
    assert picks == ["a", "b", "c", "a", "b", "c"]


def test_assignment_order_lists_fallbacks_best_first():
    candidates = [Candidate("a", 2, 3), Candidate("b", 0, 3), Candidate("c", 0, 3), Candidate("d", 3, 3)]
    assert assignment_order(candidates, 1) == ["c", "b", "a"]


def test_skills_decide_who_may_serve_a_queue():
    advisor = Staff("s1", "李四", Role.ADVISOR, frozenset({QueueName.ADVISOR}), 5, "sh01", "A0001")
    both = Staff("s2", "王五", Role.SERVICE, frozenset(QueueName), 5, "sh01")
    paused = Staff("s3", "赵六", Role.SERVICE, frozenset({QueueName.SERVICE}), 0, "sh01")
    assert can_serve_queue(advisor, QueueName.ADVISOR)
    assert not can_serve_queue(advisor, QueueName.SERVICE)
    assert can_serve_queue(both, QueueName.SERVICE)
    assert not can_serve_queue(paused, QueueName.SERVICE)
