"""Draw a flow: Mermaid text (needs no software) or Graphviz DOT (for svg/png via `dot`)."""

from __future__ import annotations

from flows.definition import FlowDefinition, Step

_PROMPT_CHARS = 48


def _label(step: Step, language: str) -> str:
    prompt = " ".join(step.prompt.get(language).split())
    if len(prompt) > _PROMPT_CHARS:
        prompt = prompt[: _PROMPT_CHARS - 1] + "…"
    saved = f" → {step.target}" if step.target else ""
    return f"{step.id} ({step.kind}{saved})\n{prompt}"


def _edges(flow: FlowDefinition) -> list[tuple[str, str, str]]:
    edges = []
    for step in flow.steps.values():
        for branch in step.branches:
            condition = "/".join(sorted(branch.when_answer)) if branch.when_answer else ""
            edges.append((step.id, branch.to, condition))
    return edges


def to_mermaid(flow: FlowDefinition, language: str = "en") -> str:
    def quote(text: str) -> str:
        return text.replace('"', "#quot;").replace("\n", "<br/>")

    lines = ["flowchart TD", f'    start_(("/{flow.command or flow.id}")) --> {flow.start}']
    for step in flow.steps.values():
        label = quote(_label(step, language))
        shape = f'(["{label}"])' if step.kind == "end" else f'["{label}"]'
        lines.append(f"    {step.id}{shape}")
    for source, target, condition in _edges(flow):
        arrow = f"-->|{quote(condition)}|" if condition else "-->"
        lines.append(f"    {source} {arrow} {target}")
    return "\n".join(lines) + "\n"


def to_dot(flow: FlowDefinition, language: str = "en") -> str:
    def quote(text: str) -> str:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'

    lines = [f"digraph {quote(flow.id)} {{", "  rankdir=TB;",
             '  node [shape=box, style=rounded, fontname="Helvetica"];',
             f"  start_ [shape=circle, label={quote('/' + (flow.command or flow.id))}];",
             f"  start_ -> {quote(flow.start)};"]
    for step in flow.steps.values():
        shape = ", shape=doubleoctagon" if step.kind == "end" else ""
        lines.append(f"  {quote(step.id)} [label={quote(_label(step, language))}{shape}];")
    for source, target, condition in _edges(flow):
        label = f" [label={quote(condition)}]" if condition else ""
        lines.append(f"  {quote(source)} -> {quote(target)}{label};")
    lines.append("}")
    return "\n".join(lines) + "\n"
