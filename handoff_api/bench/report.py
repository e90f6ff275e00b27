"""docs/benchmarks.md: the machine, the commands, every table (figure | baseline | ratio | target)."""

from __future__ import annotations

from dataclasses import dataclass, field

from handoff_api.bench.claims import ClaimResults
from handoff_api.bench.idle import IdleResults
from handoff_api.bench.machine import Machine
from handoff_api.bench.report_retrieval import retrieval_section
from handoff_api.bench.report_turns import turn_section
from handoff_api.bench.retrieval import RetrievalResults
from handoff_api.bench.stats import Summary, paired_ratios, spread
from handoff_api.bench.tables import duration, number, ratio_cell, spread_cell, table
from handoff_api.bench.turns import TurnResults

MAKE_RECIPE = "python -m handoff_api.bench --out docs/benchmarks.md"


@dataclass
class Report:
    """Everything one run measured, and how it was run."""

    machine: Machine
    command: str
    engine_label: str
    seconds: float = 0.0
    load_after: tuple[float, float, float] = (0.0, 0.0, 0.0)
    turns: TurnResults | None = None
    claims: ClaimResults | None = None
    idle: IdleResults | None = None
    retrieval: RetrievalResults | None = None
    failures: list[str] = field(default_factory=list)


HOW_TO_READ = """## How to read this

- The machine is shared (other test suites run on the same two cores), so an absolute time says little on
  its own. Every figure therefore stands beside a **baseline measured in the same run**, interleaved with it
  round by round (the order rotating), and the **ratio** of the two is the number to compare between runs
  and commits.
- A cell reads `median [lowest–highest]` over the rounds; a ratio is the median of the per-round ratios
  (round *i* of the figure over round *i* of its baseline). A wide spread means the machine was busy:
  re-run before drawing conclusions.
- Bot turns: latency is per turn, from sending the client's text to having the bot's answer, over the turns
  that counted; turns/s counts those turns over the run's wall time (opening conversations included).
- The floor is the least work a bot turn needs (one Rasa turn and one retrieval), driven by as many
  clients as the engine at that level: at 1 client `engine / floor` is the engine's own overhead per turn;
  under load it also shows how much worse the engine queues than Rasa and retrieval alone. At 100 clients
  Rasa alone is overloaded too, so the floor may have timeouts of its own.
- `target` is the performance issue's goal for the figure; `met` says whether today's median meets it.
- A turn slower than 10 s hits the API's Rasa timeout: the API then answers from its own index, and the
  turn counts as an error here ("degraded"). A turn times out after 15 s.
"""


def summaries_cell(summaries: list[Summary], name: str) -> str:
    """median [low–high] of one figure over rounds."""
    return spread_cell(spread([float(getattr(s, name)) for s in summaries]))


def claims_section(results: ClaimResults) -> str:
    """Routing claims with two claiming processes against one."""
    one, two = results.runs[1], results.runs[2]
    rows = []
    for name, label in (("per_second", "claims/s"), ("p50", "claim p50 ms"), ("p95", "claim p95 ms")):
        mine = [float(getattr(s, name)) for s in two]
        base = [float(getattr(s, name)) for s in one]
        rows.append(
            [label, summaries_cell(two, name), summaries_cell(one, name), ratio_cell(paired_ratios(mine, base))]
        )
    plan = results.plan
    return "\n".join(
        [
            "## 2. Routing claims on Redis: two worker processes against one",
            "",
            "A claim is `routing.bench`'s: reserve a capacity slot, lease the queue head, acknowledge. "
            f"{plan.tickets:,} tickets per run on one Redis queue (one key prefix), {plan.claimers} claimers in "
            f"all: all in one process (baseline), or half in each of two processes released together; {plan.rounds} "
            "rounds, alternating which goes first. Two API workers share their queues exactly this way.",
            "",
            table(["figure", "2 processes", "1 process (baseline)", "2 / 1"], rows),
            "",
        ]
    )


def idle_section(results: IdleResults) -> str:
    """RSS per idle widget connection against plain TCP connections."""
    widget, tcp = results.samples["widget"], results.samples["tcp"]

    def cells(name: str, scale: float = 1.0) -> tuple[list[float], list[float]]:
        return [getattr(s, name) / scale for s in widget], [getattr(s, name) / scale for s in tcp]

    rows = []
    for name, label, scale in (
        ("per_connection_kib", "KiB per idle connection", 1.0),
        ("before_kib", "RSS before, MiB", 1024.0),
        ("after_kib", f"RSS with {results.plan.connections:,} open, MiB", 1024.0),
    ):
        mine, base = cells(name, scale)
        rows.append(
            [label, spread_cell(spread(mine)), spread_cell(spread(base)), ratio_cell(paired_ratios(mine, base))]
        )
    rows.append(
        [
            "connections still open when read",
            *(spread_cell(spread([s.opened for s in x]), 0) for x in (widget, tcp)),
            "–",
        ]
    )
    return "\n".join(
        [
            f"## 3. Memory per idle widget connection ({results.plan.connections:,} connections)",
            "",
            "A fresh single-process API per measurement (same database, index and settings as the engine under "
            "test), warmed up by a few widget sessions; its RSS is read before and with the connections open. "
            "Widget: authenticated `/ws/widget` sockets (a directory client's token each) that sent `resume` and "
            "then idle. Baseline: the same number of plain TCP connections to the same kind of process that never "
            f"send a byte. {results.plan.rounds} round(s), alternating which kind goes first. No target in the issue.",
            "",
            table(["figure", "widget WebSocket", "plain TCP (baseline)", "widget / TCP"], rows),
            "",
        ]
    )


def machine_section(report: Report) -> str:
    """The machine and the code."""
    m = report.machine
    load = " / ".join(number(x, 2) for x in m.load_average)
    after = " / ".join(number(x, 2) for x in report.load_after)
    rows = [
        ["date", m.date],
        ["cores", str(m.cores)],
        ["CPU", m.cpu],
        ["memory", f"{m.memory_gib:.1f} GiB"],
        ["Python", f"{m.python} (harness and API), {m.rasa_python} (Rasa)"],
        ["kernel", m.kernel],
        ["load average (1/5/15 min) at start", load],
        ["load average at end", after],
        ["commit", m.commit],
        ["run time", duration(report.seconds)],
    ]
    return "\n".join(["## Machine", "", table(["", ""], rows), ""])


def render(report: Report) -> str:
    """The whole document."""
    parts = [
        "# Benchmarks",
        "",
        "Written by `python -m handoff_api.bench` (`make bench`); re-run it rather than editing this file.",
        "",
        HOW_TO_READ,
        machine_section(report),
        "## Commands",
        "",
        "```sh",
        "make bench                                   # " + MAKE_RECIPE,
        "python -m handoff_api.bench --quick          # smoke run: seconds of load, prints the report",
        "python -m handoff_api.bench --cluster        # 2 API workers + 2 Rasa replicas on Redis and PostgreSQL",
        "python -m knowledge_base.compare --json      # section 4 alone: one JSON document (--quick: seconds)",
        "```",
        "",
        f"This run: `{report.command}`",
        "",
    ]
    if report.failures:
        parts += ["## Sections that failed", "", *(f"- {failure}" for failure in report.failures), ""]
    if report.turns is not None:
        parts.append(turn_section(report.turns, report.engine_label, report.machine.cores))
    if report.claims is not None:
        parts.append(claims_section(report.claims))
    if report.idle is not None:
        parts.append(idle_section(report.idle))
    if report.retrieval is not None:
        parts.append(retrieval_section(report.retrieval))
    return "\n".join(parts).rstrip() + "\n"
