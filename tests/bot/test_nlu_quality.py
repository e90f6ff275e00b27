"""NLU quality of the trained model on the held-out test set (runs Rasa from .venv-rasa).

Assumes `make setup` trained the model into models/; a missing or stale model fails the test.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
RASA = Path(os.environ.get("RASA_BIN", ROOT / ".venv-rasa" / "bin" / "rasa"))
MODEL = ROOT / "models" / "tier1.tar.gz"
TEST_DATA = "bot/test_data/nlu.yml"
TRAINING_INPUTS = [ROOT / "config.yml", ROOT / "domain.yml", *sorted((ROOT / "bot" / "data").glob("*.yml"))]
MIN_ACCURACY = 0.90

pytestmark = [pytest.mark.rasa, pytest.mark.slow]


def run_rasa(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false"}
    return subprocess.run(
        [str(RASA), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
    )


def require_rasa_and_model() -> None:
    if not RASA.exists():
        pytest.fail(f"Rasa is not installed at {RASA}: run `make setup` (it creates .venv-rasa)")
    if not MODEL.exists():
        pytest.fail(f"no trained model at {MODEL.relative_to(ROOT)}: run `make setup` to train it")
    stale = [p.relative_to(ROOT) for p in TRAINING_INPUTS if p.stat().st_mtime > MODEL.stat().st_mtime]
    if stale:
        pytest.fail(f"the model is older than {', '.join(map(str, stale))}: run `make setup` to retrain")


def describe_errors(report: dict[str, Any], out: Path) -> str:
    lines = []
    for intent, figures in sorted(report.items()):
        if isinstance(figures, dict) and figures.get("confused_with"):
            lines.append(f"{intent} confused with {figures['confused_with']}")
    errors_file = out / "intent_errors.json"
    if errors_file.exists():
        for error in json.loads(errors_file.read_text(encoding="utf-8")):
            predicted = error["intent_prediction"]
            lines.append(
                f"  {error['text']!r}: expected {error['intent']}, got {predicted['name']} "
                f"({predicted['confidence']:.2f})"
            )
    return "\n".join(lines)


def test_training_data_validates_without_warnings():
    require_rasa_and_model()
    result = run_rasa(
        "data", "validate", "--config", "config.yml", "--domain", "domain.yml",
        "--data", "bot/data", "--fail-on-warnings",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]


def test_intent_accuracy_on_held_out_examples(tmp_path: Path):
    require_rasa_and_model()
    out = tmp_path / "nlu-results"
    result = run_rasa("test", "nlu", "--nlu", TEST_DATA, "--model", str(MODEL.relative_to(ROOT)), "--out", str(out))
    report_file = out / "intent_report.json"
    output = result.stdout[-3000:] + result.stderr[-3000:]
    assert report_file.exists(), f"rasa test nlu wrote no report:\n{output}"
    report = json.loads(report_file.read_text(encoding="utf-8"))

    accuracy = float(report["accuracy"])
    print(f"NLU intent accuracy on {TEST_DATA}: {accuracy:.3f}")
    print(describe_errors(report, out))
    assert accuracy >= MIN_ACCURACY, f"intent accuracy {accuracy:.3f} < {MIN_ACCURACY}:\n{describe_errors(report, out)}"
