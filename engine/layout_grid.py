"""Pixel geometry: turns grid ranks into shape bounds the way bpmn-js sizes them.

Between every two columns and every two rows a strip is kept free of shapes.
Flows that cannot go straight run along those strips (``gaps`` vertically,
``channels`` horizontally), which is what keeps lines off other shapes.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from itertools import pairwise

from engine.layout_model import ACTIVITIES, Diagram, Node
from engine.layout_rank import Ranks, rank

ORIGIN_X, ORIGIN_Y = 150, 80
POOL_LABEL = 30
COLUMN_GAP = 60
ROW_HEIGHT, ROW_GAP = 80, 80
LANE_TOP, LANE_BOTTOM = 50, 80
TOP_CHANNEL, ROW_CHANNEL = 20, 40
BLACK_BOX_GAP, BLACK_BOX_HEIGHT = 40, 60
BOUNDARY_PITCH = 45
PORT_INSET = 20
TASK_MAX_WIDTH = 200


@dataclass(frozen=True)
class Box:
    x: int
    y: int
    width: int
    height: int

    @property
    def right(self) -> int:
        return self.x + self.width

    @property
    def bottom(self) -> int:
        return self.y + self.height

    @property
    def cx(self) -> int:
        return self.x + self.width // 2

    @property
    def cy(self) -> int:
        return self.y + self.height // 2


@dataclass(frozen=True)
class Placement:
    nodes: dict[str, Box]
    lanes: dict[str, Box]
    pool: Box | None
    black_boxes: dict[str, Box]
    column: dict[str, int]
    ports: dict[str, int]
    gaps: tuple[int, ...]
    channels: tuple[int, ...]
    back_edges: frozenset[str]


def place(diagram: Diagram) -> Placement:
    ranks = rank(diagram)
    attached = Counter(n.host for n in diagram.nodes.values() if n.host)
    sizes = {n.id: _size(n, attached[n.id]) for n in diagram.nodes.values()}
    column_x = _column_x(diagram, ranks.column, sizes)
    lane_tops = _lane_tops(diagram, ranks.row)
    nodes = _flow_node_boxes(diagram, ranks, sizes, column_x, lane_tops)
    nodes.update(_boundary_boxes(diagram, nodes))
    lanes_x, lanes_width = ORIGIN_X + POOL_LABEL, column_x[-1] - ORIGIN_X - POOL_LABEL
    bands = [Box(lanes_x, top, lanes_width, low - top) for top, low in pairwise(lane_tops)]
    pool = Box(ORIGIN_X, ORIGIN_Y, POOL_LABEL + lanes_width, lane_tops[-1] - ORIGIN_Y)
    return Placement(
        nodes=nodes,
        lanes=dict(zip(diagram.lanes, bands, strict=False)),
        pool=pool if diagram.pool else None,
        black_boxes=_black_boxes(diagram, pool),
        column=ranks.column,
        ports={n: _port(box, attached[n]) for n, box in nodes.items()},
        gaps=tuple(x - COLUMN_GAP // 2 for x in column_x),
        channels=_channels(diagram, ranks.row, lane_tops),
        back_edges=ranks.back_edges,
    )


def _flow_node_boxes(
    diagram: Diagram,
    ranks: Ranks,
    sizes: dict[str, tuple[int, int]],
    column_x: list[int],
    lane_tops: list[int],
) -> dict[str, Box]:
    """Every node but boundary events, centred in its grid cell."""
    boxes = {}
    for node in diagram.nodes.values():
        if node.host is None:
            column, (width, height) = ranks.column[node.id], sizes[node.id]
            slot = column_x[column + 1] - COLUMN_GAP - column_x[column]
            top = lane_tops[node.lane] + LANE_TOP + ranks.row[node.id] * (ROW_HEIGHT + ROW_GAP)
            x, y = column_x[column] + (slot - width) // 2, top + (ROW_HEIGHT - height) // 2
            boxes[node.id] = Box(x, y, width, height)
    return boxes


def _size(node: Node, boundary_events: int) -> tuple[int, int]:
    if node.tag in ACTIVITIES:
        return max(_name_width(node.name), 40 + BOUNDARY_PITCH * boundary_events), 80
    return (50, 50) if node.is_gateway else (36, 36)


def _name_width(name: str) -> int:
    """The narrowest task width, from 100 px, in which bpmn-js fits the name in four lines."""
    for width in range(100, TASK_MAX_WIDTH, 20):
        if wrapped_lines(name, (width - 10) * 2 // 13) <= 4:
            return width
    return TASK_MAX_WIDTH


def wrapped_lines(text: str, per_line: int) -> int:
    """How many lines a word-wrapping renderer needs for ``text``.

    Like bpmn-js it breaks after hyphens and inside words longer than a line.
    """
    lines, used = 0, per_line
    for word in text.replace("-", "- ").split():
        if used + 1 + len(word) <= per_line:
            used += 1 + len(word)
        else:
            lines += -(-len(word) // per_line)
            used = len(word) % per_line or per_line
    return max(lines, 1)


def _column_x(
    diagram: Diagram, column: dict[str, int], sizes: dict[str, tuple[int, int]]
) -> list[int]:
    """Left edge of every column, plus where one more column would start (the lanes' end)."""
    widths = [100] * (max(column.values(), default=-1) + 1)
    for node_id, at in column.items():
        if diagram.nodes[node_id].host is None:
            widths[at] = max(widths[at], sizes[node_id][0])
    xs = [ORIGIN_X + POOL_LABEL + COLUMN_GAP]
    for width in widths:
        xs.append(xs[-1] + width + COLUMN_GAP)
    return xs


def _rows_per_lane(diagram: Diagram, row: dict[str, int]) -> list[int]:
    rows = [1] * max(1, len(diagram.lanes))
    for node_id, at in row.items():
        lane = diagram.nodes[node_id].lane
        rows[lane] = max(rows[lane], at + 1)
    return rows


def _lane_tops(diagram: Diagram, row: dict[str, int]) -> list[int]:
    """Top of every lane band, plus the bottom of the last one."""
    tops = [ORIGIN_Y]
    for rows in _rows_per_lane(diagram, row):
        height = LANE_TOP + rows * ROW_HEIGHT + (rows - 1) * ROW_GAP + LANE_BOTTOM
        tops.append(tops[-1] + height)
    return tops


def _channels(diagram: Diagram, row: dict[str, int], lane_tops: list[int]) -> tuple[int, ...]:
    channels = []
    for top, rows in zip(lane_tops, _rows_per_lane(diagram, row), strict=False):
        channels.append(top + TOP_CHANNEL)
        for at in range(rows):
            row_top = top + LANE_TOP + at * (ROW_HEIGHT + ROW_GAP)
            channels.append(row_top + ROW_HEIGHT + ROW_CHANNEL)
    return tuple(channels)


def _boundary_boxes(diagram: Diagram, hosts: dict[str, Box]) -> dict[str, Box]:
    """Boundary events sit on the host's bottom edge, spread leftwards from its right corner."""
    boxes: dict[str, Box] = {}
    placed: Counter[str] = Counter()
    for node in diagram.nodes.values():
        if node.host:
            host = hosts[node.host]
            centre = host.right - 25 - BOUNDARY_PITCH * placed[node.host]
            placed[node.host] += 1
            boxes[node.id] = Box(centre - 18, host.bottom - 18, 36, 36)
    return boxes


def _port(box: Box, boundary_events: int) -> int:
    """Where flows meet the top or bottom edge: clear of any boundary events."""
    return box.x + PORT_INSET if boundary_events else box.cx


def _black_boxes(diagram: Diagram, pool: Box) -> dict[str, Box]:
    boxes = {}
    y = pool.bottom
    for participant in diagram.black_boxes:
        y += BLACK_BOX_GAP
        boxes[participant] = Box(pool.x, y, pool.width, BLACK_BOX_HEIGHT)
        y += BLACK_BOX_HEIGHT
    return boxes
