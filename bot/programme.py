"""Programme configuration: one staff-edited YAML file, validated at start like the flows."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import time
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from flows.yaml_source import SourceError, line_of, load_yaml

DEFAULT_PROGRAMME_FILE = Path(__file__).parent / "programme.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class QuietHoursConfig(_Strict):
    start: time
    end: time


class CrisisConfig(_Strict):
    packs: list[str] = Field(default_factory=lambda: ["en", "es"], min_length=1)
    lines_file: Path | None = None


class RemindersConfig(_Strict):
    times: list[time] = Field(default_factory=lambda: [time(19, 0)], min_length=1)
    quiet_hours: QuietHoursConfig | None = None
    grace_minutes: int = Field(default=90, ge=0, le=24 * 60)


class QuestionnairesConfig(_Strict):
    phq9_every_days: int = Field(default=14, ge=1, le=365)
    gad7_every_days: int = Field(default=14, ge=1, le=365)


class Programme(_Strict):
    flows: list[str] = Field(min_length=1)
    default_country: str | None = None
    crisis: CrisisConfig = CrisisConfig()
    therapist_alerts: Literal["never", "with_client_consent"] = "with_client_consent"
    reminders: RemindersConfig = RemindersConfig()
    questionnaires: QuestionnairesConfig = QuestionnairesConfig()

    @field_validator("default_country")
    @classmethod
    def _country_code(cls, value: str | None) -> str | None:
        if value is not None and not (len(value) == 2 and value.isalpha()):
            raise ValueError("must be a two-letter ISO country code such as GB, or null")
        return value.upper() if value else None

    @field_validator("flows")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        duplicates = sorted({flow for flow in value if value.count(flow) > 1})
        if duplicates:
            raise ValueError(f"listed twice: {', '.join(duplicates)}")
        return value


class ProgrammeError(SourceError):
    """A programme file that cannot be used, with file and line."""


def load_programme(path: Path | None = None) -> Programme:
    """Read and check the programme file (the packaged default when no path is given)."""
    path = path or DEFAULT_PROGRAMME_FILE
    root = load_yaml(path).root
    if not isinstance(root, Mapping):
        raise ProgrammeError(path, 1, "the programme file must be a mapping of settings")
    try:
        return Programme.model_validate(root)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"])
        raise ProgrammeError(path, _line(root, error["loc"]),
                             f"{where}: {error['msg']}") from None


def _line(root: Any, location: tuple[int | str, ...]) -> int | None:
    """The line of the deepest mapping key on the error's path that we can find."""
    node, line = root, line_of(root)
    for part in location:
        if isinstance(node, Mapping) and part in node:
            line = line_of(node, str(part)) or line
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
            line = line_of(node) or line
        else:
            break
    return line
