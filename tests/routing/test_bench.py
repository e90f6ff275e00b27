from routing.bench import Result, main, report


async def test_bench_drains_both_backends_and_prints_figures():
    text = await main("redis://127.0.0.1:6379/0", tickets=60, concurrency=4)
    lines = text.splitlines()
    assert lines[0].startswith("assignment benchmark (4 concurrent claimers")
    assert [line.split()[0] for line in lines[2:]] == ["memory", "redis"]
    assert all(line.split()[1] == "60" for line in lines[2:])


def test_percentiles_and_rates():
    result = Result("x", 4, 2.0, 10.0, [1.0, 2.0, 3.0, 40.0])
    assert result.claims_per_second == 2.0
    assert result.percentile(0.95) == 40.0 and result.percentile(0.5) == 3.0
    assert "x" in report([result], 1)
