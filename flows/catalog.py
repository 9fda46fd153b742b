"""User-facing texts outside the flows (menus, errors, consent), one YAML file per language."""

from __future__ import annotations

import string
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from flows.definition import DEFAULT_LANGUAGE
from flows.yaml_source import SourceError, line_of, load_yaml

TEXTS_DIR = Path(__file__).parent / "texts"


class Catalog:
    """Looks a text up by key and language, falling back to English."""

    def __init__(self, texts: Mapping[str, Mapping[str, str]]) -> None:
        if DEFAULT_LANGUAGE not in texts:
            raise ValueError("the English texts are required as the fallback")
        self._texts = texts

    @property
    def languages(self) -> list[str]:
        return sorted(self._texts)

    def get(self, key: str, language: str, **values: Any) -> str:
        table = self._texts.get(language, {})
        template = table.get(key) or self._texts[DEFAULT_LANGUAGE].get(key)
        if template is None:
            raise KeyError(f"no text '{key}' in the English texts")
        return string.Formatter().vformat(template, (), values) if values else template

    def missing_keys(self) -> list[tuple[str, str]]:
        """(language, key) for every English text another language lacks."""
        english = self._texts[DEFAULT_LANGUAGE]
        return [(language, key) for language, table in sorted(self._texts.items())
                for key in english if key not in table]

    def has(self, key: str) -> bool:
        return key in self._texts[DEFAULT_LANGUAGE]

    @classmethod
    def load(cls, directory: Path = TEXTS_DIR) -> Catalog:
        texts: dict[str, dict[str, str]] = {}
        for path in sorted(directory.glob("*.yaml")):
            root = load_yaml(path).root
            if not isinstance(root, Mapping):
                raise SourceError(path, 1, "a texts file must map keys to texts")
            for key, value in root.items():
                if not isinstance(value, str):
                    raise SourceError(path, line_of(root, str(key)),
                                      f"text '{key}' must be a string")
            texts[path.stem] = {str(k): v for k, v in root.items()}
        return cls(texts)


@cache
def default_catalog() -> Catalog:
    """The packaged texts, loaded once."""
    return Catalog.load()
