"""Grid positions: a column from flow order and a row inside the node's lane.

A boundary event shares its host's cell, so its flows count as leaving the
host; that alone puts their targets at least one column after the host.
Loops are cut where a depth-first walk from the start events meets a node
still on its stack, which is how a reader sees a review loop: a way back.
"""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass

from engine.layout_model import Diagram, Flow


@dataclass(frozen=True)
class Ranks:
    column: dict[str, int]
    row: dict[str, int]
    back_edges: frozenset[str]


def rank(diagram: Diagram) -> Ranks:
    order = [n for n, node in diagram.nodes.items() if node.host is None]
    edges = [(f, anchor(diagram, f.source), anchor(diagram, f.target)) for f in diagram.flows]
    back = _back_edges(diagram, order, edges)
    forward = [(f, s, t) for f, s, t in edges if f.id not in back and s != t]
    column = _columns(order, forward)
    row = _rows(diagram, order, forward, column)
    for node in diagram.nodes.values():
        if node.host is not None:
            column[node.id], row[node.id] = column[node.host], row[node.host]
    return Ranks(column, row, frozenset(back))


def anchor(diagram: Diagram, node_id: str) -> str:
    """The node whose cell ``node_id`` is drawn in: the host for a boundary event."""
    return diagram.nodes[node_id].host or node_id


def _back_edges(diagram: Diagram, order: list[str], edges: list[tuple[Flow, str, str]]) -> set[str]:
    successors: dict[str, list[tuple[str, str]]] = defaultdict(list)
    has_incoming = set()
    for flow, source, target in edges:
        successors[source].append((flow.id, target))
        has_incoming.add(target)
    starts = [n for n in order if diagram.nodes[n].tag == "startEvent"]
    roots = starts + [n for n in order if n not in has_incoming] + order
    state: dict[str, bool] = {}  # True while on the walk's stack
    back: set[str] = set()
    for root in roots:
        if root in state:
            continue
        state[root] = True
        stack = [(root, iter(successors[root]))]
        while stack:
            node, pending = stack[-1]
            step = next(pending, None)
            if step is None:
                state[node] = False
                stack.pop()
            elif state.get(step[1]):
                back.add(step[0])
            elif step[1] not in state:
                state[step[1]] = True
                stack.append((step[1], iter(successors[step[1]])))
    return back


def _columns(order: list[str], forward: list[tuple[Flow, str, str]]) -> dict[str, int]:
    """Longest path from the sources, so every forward flow points right."""
    successors: dict[str, list[str]] = defaultdict(list)
    waiting = dict.fromkeys(order, 0)
    for _, source, target in forward:
        successors[source].append(target)
        waiting[target] += 1
    column = dict.fromkeys(order, 0)
    ready = deque(n for n in order if waiting[n] == 0)
    while ready:
        node = ready.popleft()
        for target in successors[node]:
            column[target] = max(column[target], column[node] + 1)
            waiting[target] -= 1
            if waiting[target] == 0:
                ready.append(target)
    return column


def _rows(
    diagram: Diagram,
    order: list[str],
    forward: list[tuple[Flow, str, str]],
    column: dict[str, int],
) -> dict[str, int]:
    """Keep a branch on its predecessor's row; a boundary path drops one row below its host."""
    index = {n: i for i, n in enumerate(order)}
    sources: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for flow, source, target in forward:
        if diagram.nodes[source].lane == diagram.nodes[target].lane:
            drop = 1 if diagram.nodes[flow.source].host else 0
            sources[target].append((source, drop))
    row: dict[str, int] = {}
    taken: set[tuple[int, int, int]] = set()
    for current in sorted(set(column.values())):
        cell = [n for n in order if column[n] == current]
        wanted = {n: _wanted_row(sources[n], column, row) for n in cell}
        for node in sorted(cell, key=lambda n: (wanted[n], index[n])):
            lane, at = diagram.nodes[node].lane, wanted[node]
            while (lane, current, at) in taken:
                at += 1
            taken.add((lane, current, at))
            row[node] = at
    return row


def _wanted_row(sources: list[tuple[str, int]], column: dict[str, int], row: dict[str, int]) -> int:
    if not sources:
        return 0
    nearest = max(column[s] for s, _ in sources)
    return min(row[s] + drop for s, drop in sources if column[s] == nearest)
