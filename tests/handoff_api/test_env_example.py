"""`.env.example` names every setting: a field added to any settings class without a line there fails here."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

from pydantic_settings import BaseSettings

ROOT = Path(__file__).resolve().parents[2]
ENV_EXAMPLE = ROOT / ".env.example"
PACKAGES = ("bot", "knowledge_base", "routing", "handoff_api")
# Modules that define or gather settings classes: the composition root imports every wired one.
SETTINGS_MODULES = ("handoff_api.main", "handoff_api.settings", "routing.settings", "knowledge_base.settings")
# Read straight from the environment by the launcher (make run, make run-cluster), not by a settings class.
LAUNCHER_VARIABLES = {"API_WORKERS", "RASA_REPLICAS", "RASA_PORT", "LAUNCHER_STARTUP_SECONDS"}
LINE = re.compile(r"^#?\s*([A-Z][A-Z0-9_]*)=")


def settings_classes() -> list[type[BaseSettings]]:
    """Every BaseSettings subclass defined in the project's packages."""
    for module in SETTINGS_MODULES:
        importlib.import_module(module)
    found: list[type[BaseSettings]] = []
    pending = list(BaseSettings.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.__module__.split(".")[0] in PACKAGES and cls not in found:
            found.append(cls)
    return found


def environment_names(cls: type[BaseSettings]) -> set[str]:
    """The variables a settings class reads (nested settings models read their own, with their prefix)."""
    prefix = str(cls.model_config.get("env_prefix", ""))
    names = set()
    for name, field in cls.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseSettings):
            continue
        alias = field.validation_alias if isinstance(field.validation_alias, str) else field.alias
        names.add((alias or f"{prefix}{name}").upper())
    return names


def documented() -> set[str]:
    """The variables `.env.example` names, commented out or set."""
    names = set()
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        match = LINE.match(line)
        if match:
            names.add(match.group(1))
    return names


def test_the_settings_classes_are_found() -> None:
    names = {cls.__name__ for cls in settings_classes()}
    assert {"Settings", "WeComChannelSettings", "RoutingSettings", "KnowledgeBaseSettings"} <= names


def test_every_setting_is_in_the_env_example() -> None:
    wanted = set().union(*(environment_names(cls) for cls in settings_classes())) | LAUNCHER_VARIABLES
    missing = sorted(wanted - documented())
    assert not missing, f"add these settings to .env.example: {', '.join(missing)}"


def test_the_env_example_names_no_unknown_variable() -> None:
    known = set().union(*(environment_names(cls) for cls in settings_classes())) | LAUNCHER_VARIABLES
    unknown = sorted(documented() - known)
    assert not unknown, f".env.example names variables no setting reads: {', '.join(unknown)}"


def test_a_new_field_would_be_caught() -> None:
    class Extra(BaseSettings):
        model_config = {"env_prefix": "OPS_"}
        brand_new_knob: int = 1

    assert environment_names(Extra) == {"OPS_BRAND_NEW_KNOB"}
    assert "OPS_BRAND_NEW_KNOB" not in documented()
