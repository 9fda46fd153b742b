"""All flows the bot offers: the packaged definitions plus a staff directory that overrides them."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from flows.definition import FlowDefinition, FlowError, load_flow

DEFINITIONS_DIR = Path(__file__).parent / "definitions"


class FlowRegistry:
    def __init__(self, flows: Iterable[FlowDefinition]) -> None:
        self._by_id: dict[str, FlowDefinition] = {}
        self._by_command: dict[str, FlowDefinition] = {}
        for flow in flows:
            self._by_id[flow.id] = flow
        for flow in self._by_id.values():
            if flow.command:
                other = self._by_command.get(flow.command)
                if other is not None:
                    raise FlowError(flow.source, None, f"command '/{flow.command}' is already "
                                    f"used by flow '{other.id}' ({other.source})")
                self._by_command[flow.command] = flow

    def get(self, flow_id: str) -> FlowDefinition | None:
        return self._by_id.get(flow_id)

    def for_command(self, command: str) -> FlowDefinition | None:
        return self._by_command.get(command)

    def all(self) -> list[FlowDefinition]:
        """Every flow, in menu order."""
        return list(self._by_id.values())

    def only(self, flow_ids: Iterable[str]) -> FlowRegistry:
        """The flows a programme switches on, in its order; unknown ids raise KeyError."""
        return FlowRegistry(self._by_id[flow_id] for flow_id in flow_ids)

    @classmethod
    def load(cls, staff_dir: Path | None = None) -> FlowRegistry:
        """Packaged flows, then staff flows with the same id replacing them."""
        paths = sorted(DEFINITIONS_DIR.glob("*.yaml"))
        if staff_dir is not None:
            if not staff_dir.is_dir():
                raise FlowError(staff_dir, None, "CBT_FLOWS_DIR is not a directory")
            paths += sorted(staff_dir.glob("*.yaml"))
        loaded: dict[str, FlowDefinition] = {}
        for path in paths:
            flow = load_flow(path)
            loaded[flow.id] = flow
        return cls(loaded.values())
