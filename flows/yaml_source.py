"""YAML loading that remembers where each mapping came from, for errors staff can act on."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import yaml


class SourceError(Exception):
    """A problem in a staff-edited file, reported as ``file:line: explanation``."""

    def __init__(self, file: str | Path, line: int | None, message: str) -> None:
        self.file = str(file)
        self.line = line
        self.message = message
        where = f"{self.file}:{line}" if line is not None else self.file
        super().__init__(f"{where}: {message}")


class LineDict(dict[str, Any]):
    """A mapping from YAML that knows the 1-based line it started on, and each key's line."""

    line: int = 0
    key_lines: dict[str, int]


class _DuplicateKey(Exception):
    def __init__(self, line: int, key: str, first: int) -> None:
        super().__init__(key)
        self.line, self.key, self.first = line, key, first


class _LineLoader(yaml.SafeLoader):
    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        # YAML would silently keep the last of two equal keys (two steps called "belief"):
        # staff get told instead.
        seen: dict[str, int] = {}
        for key_node, _ in node.value:
            key, line = str(key_node.value), key_node.start_mark.line + 1
            if key in seen:
                raise _DuplicateKey(line, key, seen[key])
            seen[key] = line
        mapping = LineDict(cast(dict[str, Any], super().construct_mapping(node, deep=deep)))
        mapping.line = node.start_mark.line + 1
        mapping.key_lines = {
            str(key_node.value): key_node.start_mark.line + 1 for key_node, _ in node.value
        }
        return mapping


_LineLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _LineLoader.construct_mapping,
)


@dataclass(frozen=True)
class YamlDocument:
    path: Path
    root: Any


def load_yaml(path: Path) -> YamlDocument:
    """Parse one YAML file, turning syntax errors into SourceError with the line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SourceError(path, None, f"cannot read file ({exc.strerror})") from exc
    try:
        root = yaml.load(text, Loader=_LineLoader)
    except _DuplicateKey as exc:
        raise SourceError(path, exc.line, f"'{exc.key}' appears twice (first on line "
                          f"{exc.first})") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark is not None else None
        raise SourceError(path, line, f"not valid YAML: {exc.problem}") from exc
    return YamlDocument(path=path, root=root)


def line_of(node: Any, key: str | None = None) -> int | None:
    """The line of a mapping, or of one of its keys, when known."""
    if isinstance(node, LineDict):
        if key is not None and key in node.key_lines:
            return node.key_lines[key]
        return node.line
    return None
