"""The report's bot-turn section: REST and widget beside the floor, per client count (pure)."""

from __future__ import annotations

from handoff_api.bench.goals import goal_for
from handoff_api.bench.load import RunResult
from handoff_api.bench.stats import Summary, paired_ratios, percentile, spread
from handoff_api.bench.tables import number, ratio_cell, spread_cell, table, verdict
from handoff_api.bench.turns import LevelResult, TurnResults

PATHS = (("rest", "REST"), ("widget", "widget WebSocket"))
FIGURES = (
    ("p50", "p50 ms"),
    ("p95", "p95 ms"),
    ("p99", "p99 ms"),
    ("per_second", "turns/s"),
)


def figure(summary: Summary, name: str) -> float:
    """One named figure of a run summary."""
    value: float = getattr(summary, name)
    return value


def per_round(runs: list[RunResult], name: str) -> list[float]:
    """The figure of each round."""
    return [figure(run.summary(), name) for run in runs]


def errors_cell(runs: list[RunResult]) -> str:
    """`errors of attempts` over every round."""
    summaries = [run.summary() for run in runs]
    return f"{sum(s.errors for s in summaries)} of {sum(s.ok + s.errors for s in summaries)}"


def level_rows(level: LevelResult, kind: str) -> list[list[str]]:
    """The rows of one path at one client count: each figure beside the floor, their ratio and the target."""
    runs, floor = level.runs[kind], level.runs["floor"]
    clients = str(level.shape.clients)
    rows: list[list[str]] = []
    for name, label in FIGURES:
        mine, base = per_round(runs, name), per_round(floor, name)
        goal = goal_for(level.shape.clients, name)
        measured = spread(mine).median
        rows.append(
            [
                clients,
                label,
                spread_cell(spread(mine)),
                spread_cell(spread(base)),
                ratio_cell(paired_ratios(mine, base)),
                goal.label if goal else "–",
                verdict(goal.met(measured)) if goal else "–",
            ]
        )
    goal = goal_for(level.shape.clients, "errors")
    total = sum(run.summary().errors for run in runs)
    rows.append(
        [
            clients,
            "errors",
            errors_cell(runs),
            errors_cell(floor),
            "–",
            goal.label if goal else "–",
            verdict(goal.met(total)) if goal else "–",
        ]
    )
    return rows


HEADER = ["clients", "figure", "engine", "floor (baseline)", "engine / floor", "target", "met"]


def headline(results: TurnResults) -> str:
    """One line per client count: both paths' p50, p95 and turns/s, the floor, and p50 over the floor's."""
    rows = []
    for level in results.levels:
        floor_p50 = per_round(level.runs["floor"], "p50")
        row = [str(level.shape.clients)]
        for kind, _ in PATHS:
            runs = level.runs[kind]
            row += [
                spread_cell(spread(per_round(runs, "p50"))),
                spread_cell(spread(per_round(runs, "p95"))),
                spread_cell(spread(per_round(runs, "per_second"))),
                ratio_cell(paired_ratios(per_round(runs, "p50"), floor_p50)),
            ]
        row += [spread_cell(spread(floor_p50)), spread_cell(spread(per_round(level.runs["floor"], "per_second")))]
        rows.append(row)
    header = ["clients", "REST p50 ms", "REST p95 ms", "REST turns/s", "REST p50 / floor p50"]
    header += ["WS p50 ms", "WS p95 ms", "WS turns/s", "WS p50 / floor p50", "floor p50 ms", "floor turns/s"]
    return table(header, rows)


def part_cell(runs: list[RunResult], name: str, q: float) -> str:
    """The median over rounds of one floor part's percentile."""
    return spread_cell(spread([percentile(run.part(name), q) for run in runs]))


def floor_parts(results: TurnResults) -> str:
    """What the floor is made of: the Rasa greeting and the in-process retrieval."""
    rows = [
        [
            str(level.shape.clients),
            part_cell(level.runs["floor"], "rasa", 50),
            part_cell(level.runs["floor"], "rasa", 95),
            part_cell(level.runs["floor"], "retrieve", 50),
            part_cell(level.runs["floor"], "retrieve", 95),
        ]
        for level in results.levels
    ]
    return table(["clients", "Rasa greeting p50 ms", "p95 ms", "retrieval p50 ms", "p95 ms"], rows)


def error_kinds(results: TurnResults) -> list[str]:
    """`- 100 clients, REST: 3 × timeout` lines for every kind of error seen."""
    lines = []
    for level in results.levels:
        for kind, label in (("floor", "floor"), *PATHS):
            counts: dict[str, int] = {}
            for run in level.runs[kind]:
                for error, count in run.summary().error_kinds:
                    counts[error] = counts.get(error, 0) + count
            for error, count in sorted(counts.items(), key=lambda item: -item[1]):
                lines.append(f"- {level.shape.clients} clients, {label}: {count} × {error}")
    return lines


def shapes(results: TurnResults) -> str:
    """How each level was driven."""
    rows = [
        [
            str(level.shape.clients),
            str(level.shape.turns_per_client),
            str(level.shape.session_turns),
            number(level.shape.budget_seconds, 0),
            str(len(level.runs["rest"])),
            str(sum(len(run.turns) for kind in level.runs for run in level.runs[kind])),
        ]
        for level in results.levels
    ]
    header = ["clients", "turns per client (at most)", "turns per conversation", "budget s per run", "rounds"]
    return table([*header, "turns measured (all runs)"], rows)


CPU_PROCESSES = ("API", "Rasa", "harness")


def cpu_ms(run: RunResult, processes: tuple[str, ...]) -> float:
    """The processes' CPU milliseconds per turn in one run, added up."""
    return sum(run.cpu_ms_per_turn(process) for process in processes)


def cpu_cell(runs: list[RunResult], processes: tuple[str, ...]) -> str:
    """The median over rounds of the processes' CPU milliseconds per turn, added up."""
    return spread_cell(spread([cpu_ms(run, processes) for run in runs]), 1)


def cpu_rows(level: LevelResult, cores: int) -> list[list[str]]:
    """Per path at one client count: each process's CPU per turn, the engine's over the floor's, the ceiling."""
    engine = ("API", "Rasa")
    floor = [cpu_ms(run, engine) for run in level.runs["floor"]]
    rows = []
    for kind, label in (*PATHS, ("floor", "floor")):
        runs = level.runs[kind]
        mine = [cpu_ms(run, engine) for run in runs]
        ceiling = spread([1000 * cores / ms if ms > 0 else float("nan") for ms in mine])
        rows.append(
            [
                str(level.shape.clients),
                label,
                *(cpu_cell(runs, (process,)) for process in CPU_PROCESSES),
                cpu_cell(runs, engine),
                ratio_cell(paired_ratios(mine, floor)) if kind != "floor" else "–",
                spread_cell(ceiling, 0),
            ]
        )
    return rows


def cpu_table(results: TurnResults, cores: int) -> str:
    """CPU milliseconds per turn of every process, at every level and path."""
    header = ["clients", "path", "API ms", "Rasa ms", "harness ms", "API + Rasa ms", "engine / floor"]
    header.append(f"turns/s ceiling on {cores} cores")
    return table(header, [row for level in results.levels for row in cpu_rows(level, cores)])


def turn_section(results: TurnResults, engine_label: str, cores: int = 2) -> str:
    """The whole section."""
    parts = [
        "## 1. Bot turns",
        "",
        f"Engine under test: {engine_label}. Each virtual client opens its own conversation (a directory client "
        "of its own), asks its questions one after the other and waits for each answer; every third conversation "
        f"opens with a greeting. {len(results.questions)} questions of the eval set that the bot answers outright "
        f"are used ({len(results.rejected)} candidates were dropped: the bot did not answer them outright). An "
        "error is a non-200 answer, a timeout, a widget error, a hand-over, a reply from the API's fallback "
        "tier 1 or anything that is not a bot payload; latency percentiles are over the turns that counted. "
        "REST: one `POST .../messages` per turn. Widget: `message {text, client_msg_id}` until its `ack` (the "
        "bot's messages arrive before it).",
        "",
        "The floor, measured in the same rounds at the same client count: a greeting through Rasa's REST channel "
        "directly (NLU, policies, tracker store and the bot's small-talk action) plus one in-process "
        "`FaqService.retrieve` of the same question, with the same query cache as the engine "
        "(`KB_QUERY_CACHE_SIZE`): the questions repeat, so after their first round both mostly skip the encoder "
        "and the scoring (the cache keeps recent questions' vectors and retrievals). For the same reason Rasa's "
        "NLU answers both the engine's texts and the floor's greetings from its parse cache "
        "(`RASA_NLU_CACHE_SIZE`) after their first round. These figures are therefore those of traffic that "
        "repeats itself; a question never seen before also pays for one encoding and one NLU parse.",
        "",
        headline(results),
        "",
    ]
    for kind, label in PATHS:
        rows = [row for level in results.levels for row in level_rows(level, kind)]
        parts += [f"### {label}", "", table(HEADER, rows), ""]
    parts += ["### The floor, part by part", "", floor_parts(results), ""]
    if any(run.cpu for level in results.levels for runs in level.runs.values() for run in runs):
        parts += [
            "### CPU per turn",
            "",
            "CPU time each process spent during a run (user + system, from /proc, a server with its worker "
            "processes) over the turns attempted. The floor's retrieval runs in the harness, which also drives "
            "every client. The ceiling is the turns per second the machine's cores could carry if the API and "
            "Rasa used them all and nothing else ran: `1000 × cores / (API + Rasa ms)`.",
            "",
            cpu_table(results, cores),
            "",
        ]
    parts += ["### How it was driven", "", shapes(results), ""]
    errors = error_kinds(results)
    parts += ["### Errors", "", *(errors or ["None."]), ""]
    if results.rejected:
        dropped = [f"- {text} ({why})" for text, why in results.rejected]
        parts += ["### Candidate questions the bot did not answer outright (not used)", "", *dropped, ""]
    return "\n".join(parts)
