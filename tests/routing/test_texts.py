from routing import texts


def test_leave_a_message_says_why_nobody_can_answer() -> None:
    off_hours = texts.leave_message(texts.OFF_HOURS_PREFIX)
    nobody = texts.leave_message(texts.NO_STAFF_PREFIX)
    assert off_hours.startswith("当前为非服务时间") and "下一个服务时段" in off_hours
    assert nobody.startswith("当前暂无在线人员") and "非服务时间" not in nobody and "下一个服务时段" not in nobody
