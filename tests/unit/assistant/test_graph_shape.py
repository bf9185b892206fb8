"""langgraph.json registers the compiled graph, with the nodes the assistant is made of."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_langgraph_json_points_at_the_compiled_graph() -> None:
    config = json.loads((ROOT / "langgraph.json").read_text())
    path, _, attribute = config["graphs"]["shopping_assistant"].partition(":")
    module = importlib.import_module(path.removeprefix("./").removesuffix(".py").replace("/", "."))
    graph = getattr(module, attribute)
    nodes = set(graph.get_graph().nodes)
    assert {
        "intent_parser",
        "plan_generator",
        "plan_executor",
        "clarification",
        "confirmation",
    } <= nodes


def test_only_the_confirmation_node_leads_back_into_execution() -> None:
    from assistant.graph import graph

    edges = {(e.source, e.target) for e in graph.get_graph().edges}
    into_executor = {source for source, target in edges if target == "plan_executor"}
    assert into_executor == {"plan_generator", "confirmation"}
