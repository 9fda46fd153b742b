"""`flows validate`: every problem in every flow file, with file and line, in one pass."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from flows.catalog import Catalog
from flows.definition import FlowDefinition, FlowError, FlowProblems, Text, load_flow
from flows.registry import DEFINITIONS_DIR
from flows.yaml_source import SourceError, line_of, load_yaml


@dataclass
class ValidationReport:
    errors: list[SourceError] = field(default_factory=list)
    warnings: list[SourceError] = field(default_factory=list)
    flows: dict[str, FlowDefinition] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


def validate(directories: Sequence[Path], catalog: Catalog) -> ValidationReport:
    """Check the flows of each directory in order; a later directory may override an id."""
    report = ValidationReport()
    for directory in directories:
        seen_here: dict[str, str] = {}
        for path in sorted(directory.glob("*.yaml")):
            flow = _load(path, report)
            if flow is None:
                continue
            if flow.id in seen_here:
                report.errors.append(FlowError(path, _id_line(path), f"duplicate flow id "
                                               f"'{flow.id}' (also in {seen_here[flow.id]})"))
                continue
            seen_here[flow.id] = str(path)
            report.flows[flow.id] = flow
    _check_commands(report)
    for flow in report.flows.values():
        report.warnings.extend(_missing_translations(flow, catalog.languages))
    report.warnings.extend(_catalog_gaps(catalog))
    return report


def packaged_and_staff(staff_dir: Path | None) -> list[Path]:
    return [DEFINITIONS_DIR] + ([staff_dir] if staff_dir is not None else [])


def _load(path: Path, report: ValidationReport) -> FlowDefinition | None:
    try:
        return load_flow(path)
    except FlowProblems as problems:
        report.errors.extend(problems.problems)
    except SourceError as problem:
        report.errors.append(problem)
    return None


def _id_line(path: Path) -> int | None:
    try:
        return line_of(load_yaml(path).root, "id")
    except SourceError:
        return None


def _check_commands(report: ValidationReport) -> None:
    owners: dict[str, FlowDefinition] = {}
    for flow in report.flows.values():
        if not flow.command:
            continue
        other = owners.get(flow.command)
        if other is not None:
            report.errors.append(FlowError(flow.source, None, f"command '/{flow.command}' is "
                                           f"already used by flow '{other.id}' ({other.source})"))
        owners[flow.command] = flow


def _texts(flow: FlowDefinition) -> Iterable[tuple[str, Text]]:
    if flow.title.line is not None:  # a title the file did not give is not a gap
        yield "title", flow.title
    if flow.description is not None:
        yield "description", flow.description
    for step in flow.steps.values():
        yield f"step '{step.id}' prompt", step.prompt
        for option in step.options:
            yield f"step '{step.id}' option '{option.id}'", option.label


def _missing_translations(flow: FlowDefinition, languages: Sequence[str]) -> list[SourceError]:
    """Client-facing text without a language the bot speaks: English is shown instead."""
    warnings: list[SourceError] = []
    for where, text in _texts(flow):
        missing = [lang for lang in languages if lang not in text.by_language]
        if missing:
            warnings.append(SourceError(flow.source, text.line, f"{where} has no "
                                        f"{', '.join(missing)} translation (English is shown)"))
    return warnings


def _catalog_gaps(catalog: Catalog) -> list[SourceError]:
    return [SourceError(f"flows/texts/{language}.yaml", None,
                        f"text '{key}' is missing (English is shown)")
            for language, key in catalog.missing_keys()]
