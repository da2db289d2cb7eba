"""Orthogonal waypoints for sequence and message flows.

Each flow tries the plainest shapes first (straight, one bend, a bend in the
nearest free strip) and takes the first that crosses no other shape. The last
resort always runs along free strips only, so it is clean by construction.
Flows sharing a strip are nudged onto separate tracks so they stay apart.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from itertools import pairwise

from engine.layout_grid import POOL_LABEL, Box, Placement
from engine.layout_model import Diagram, Flow, Node

Point = tuple[int, int]
GAP_TRACKS = (0, 10, -10, 20, -20)
CHANNEL_TRACKS = (0, 10, 20, -10)
MESSAGE_TRACKS = (0, 12, -12)
CLEARANCE = 5
NAME_INSET, NAME_HEIGHT = 12, 40


@dataclass(frozen=True)
class Route:
    points: tuple[Point, ...]
    gaps: tuple[int, ...] = ()
    channels: tuple[int, ...] = ()

    def __add__(self, other: Route) -> Route:
        return Route(
            self.points + other.points, self.gaps + other.gaps, self.channels + other.channels
        )


class Router:
    """Routes flows in document order; earlier flows claim the first track of a strip."""

    def __init__(self, diagram: Diagram, placement: Placement):
        self.diagram = diagram
        self.placement = placement
        self.boxes = placement.nodes
        self.gap_use: Counter[int] = Counter()
        self.channel_use: Counter[int] = Counter()
        self.message_use: Counter[str] = Counter()
        self.message_names: list[Box] = []

    def sequence_flow(self, flow: Flow) -> tuple[Point, ...]:
        source, target = self.diagram.nodes[flow.source], self.diagram.nodes[flow.target]
        backward = flow.id in self.placement.back_edges or (
            self._column(target) <= self._column(source)
        )
        if source.host:
            routes = self._from_boundary(source, target, backward)
        elif backward:
            routes = self._backward(source, target)
        else:
            routes = self._forward(source, target)
        return self._choose(routes, source.id, target.id)

    def message_flow(self, flow: Flow) -> tuple[Point, ...]:
        """Straight down to the pool below if that is clear, else via the strips.

        bpmn-js writes the message's name at the flow's midpoint, so a route
        is also judged by whether that name lands clear of shapes.
        """
        upper, lower = sorted((flow.source, flow.target), key=lambda e: self._end_box(e).y)
        routes = self._message_routes(upper, self._end_box(lower))
        clear = [r for r in routes if self._clear(r.points, {upper})] or routes
        named = (r for r in clear if not flow.message or self._name_fits(r.points, flow.message))
        chosen = next(named, clear[0])
        self.message_use[upper] += 1
        self.gap_use.update(chosen.gaps)
        self.channel_use.update(chosen.channels)
        if flow.message:
            self.message_names.append(message_name_box(chosen.points, flow.message))
        return chosen.points if upper == flow.source else tuple(reversed(chosen.points))

    def _forward(self, source: Node, target: Node) -> list[Route]:
        s, t = self.boxes[source.id], self.boxes[target.id]
        routes = []
        if s.cy == t.cy:
            routes.append(Route(((s.right, s.cy), (t.x, t.cy))))
        elif source.is_gateway:
            port = self.placement.ports[source.id]
            routes.append(Route(((port, _edge(s, t.cy)), (port, t.cy), (t.x, t.cy))))
        if target.is_gateway and s.cy != t.cy:
            port = self.placement.ports[target.id]
            routes.append(Route(((s.right, s.cy), (port, s.cy), (port, _edge(t, s.cy)))))
        for gap in dict.fromkeys((self._column(target), self._column(source) + 1)):
            x = self._gap_x(gap)
            routes.append(Route(((s.right, s.cy), (x, s.cy), (x, t.cy), (t.x, t.cy)), (gap,)))
        channels = self._channels_near((s.cy + t.cy) // 2)
        for channel in channels:
            exits = self._exits(source, channel, vertical_first=source.is_gateway)
            entries = self._entries(target, channel, vertical_first=target.is_gateway)
            routes += [way_out + way_in for way_out in exits for way_in in entries]
        return [
            *routes,
            self._side_exit(source, channels[0]) + self._side_entry(target, channels[0]),
        ]

    def _backward(self, source: Node, target: Node) -> list[Route]:
        """Loops run under both ends and come back up into the target's bottom."""
        lowest = max(self.boxes[source.id].bottom, self.boxes[target.id].bottom)
        channels = self._channels_below(lowest)
        routes = []
        for channel in channels:
            for way_out in self._exits(source, channel, vertical_first=True):
                for way_in in self._entries(target, channel, vertical_first=True):
                    if way_out.points[0][0] != way_in.points[-1][0]:
                        routes.append(way_out + way_in)
        return [
            *routes,
            self._side_exit(source, channels[0]) + self._side_entry(target, channels[0]),
        ]

    def _from_boundary(self, event: Node, target: Node, backward: bool) -> list[Route]:
        """Out of the event's bottom, then on like any other flow."""
        e, t = self.boxes[event.id], self.boxes[target.id]
        routes = []
        if not backward and t.cy > e.bottom:
            routes.append(Route(((e.cx, e.bottom), (e.cx, t.cy), (t.x, t.cy))))
        channels = self._channels_below(e.bottom)
        for channel in channels:
            way_out = self._vertical_exit(event, channel)
            for way_in in self._entries(target, channel, target.is_gateway or backward):
                routes.append(way_out + way_in)
        nearest = channels[0]
        return [*routes, self._vertical_exit(event, nearest) + self._side_entry(target, nearest)]

    def _message_routes(self, upper: str, lower: Box) -> list[Route]:
        if upper not in self.boxes:
            top = self._end_box(upper)
            x = top.x + POOL_LABEL + 40 + 30 * self.message_use[upper]
            return [Route(((x, top.bottom), (x, lower.y)))]
        box, node = self.boxes[upper], self.diagram.nodes[upper]
        x = self.placement.ports[upper]
        if not node.is_event and not node.is_gateway:
            x += MESSAGE_TRACKS[self.message_use[upper] % len(MESSAGE_TRACKS)]
        routes = [Route(((x, box.bottom), (x, lower.y)))]
        column, gaps = self._column(node), range(len(self.placement.gaps))
        nearest = sorted(gaps, key=lambda gap: (abs(gap - column - 0.6), gap))
        for channel in self._channels_below(box.bottom):
            y = self._channel_y(channel)
            for gap in nearest:
                gap_x = self._gap_x(gap)
                points = ((x, box.bottom), (x, y), (gap_x, y), (gap_x, lower.y))
                routes.append(Route(points, (gap,), (channel,)))
        return routes

    def _name_fits(self, points: tuple[Point, ...], name: str) -> bool:
        name_box = message_name_box(points, name)
        others = (*self.boxes.values(), *self.message_names)
        return not any(_meets(name_box, other) for other in others)

    def _exits(self, node: Node, channel: int, vertical_first: bool) -> list[Route]:
        routes = [self._vertical_exit(node, channel), self._side_exit(node, channel)]
        return routes if vertical_first else routes[::-1]

    def _entries(self, node: Node, channel: int, vertical_first: bool) -> list[Route]:
        routes = [self._vertical_entry(node, channel), self._side_entry(node, channel)]
        return routes if vertical_first else routes[::-1]

    def _vertical_exit(self, node: Node, channel: int) -> Route:
        box, y, port = self.boxes[node.id], self._channel_y(channel), self.placement.ports[node.id]
        return Route(((port, _edge(box, y)), (port, y)), channels=(channel,))

    def _side_exit(self, node: Node, channel: int) -> Route:
        """Out of the right side into the free strip after the node's column: never blocked."""
        box, y, gap = self.boxes[node.id], self._channel_y(channel), self._column(node) + 1
        x = self._gap_x(gap)
        return Route(((box.right, box.cy), (x, box.cy), (x, y)), (gap,), (channel,))

    def _vertical_entry(self, node: Node, channel: int) -> Route:
        box, y, port = self.boxes[node.id], self._channel_y(channel), self.placement.ports[node.id]
        return Route(((port, y), (port, _edge(box, y))))

    def _side_entry(self, node: Node, channel: int) -> Route:
        """From the free strip before the node's column into its left side: never blocked."""
        box, y, gap = self.boxes[node.id], self._channel_y(channel), self._column(node)
        x = self._gap_x(gap)
        return Route(((x, y), (x, box.cy), (box.x, box.cy)), (gap,))

    def _choose(self, routes: list[Route], source: str, target: str) -> tuple[Point, ...]:
        chosen = next((r for r in routes if self._clear(r.points, {source, target})), routes[-1])
        self.gap_use.update(chosen.gaps)
        self.channel_use.update(chosen.channels)
        return _simplified(chosen.points)

    def _clear(self, points: tuple[Point, ...], skip: set[str]) -> bool:
        return not any(
            _crosses(box, a, b)
            for a, b in pairwise(points)
            for node_id, box in self.boxes.items()
            if node_id not in skip
        )

    def _column(self, node: Node) -> int:
        return self.placement.column[node.id]

    def _gap_x(self, gap: int) -> int:
        return self.placement.gaps[gap] + GAP_TRACKS[self.gap_use[gap] % len(GAP_TRACKS)]

    def _channel_y(self, channel: int) -> int:
        tracks = CHANNEL_TRACKS[self.channel_use[channel] % len(CHANNEL_TRACKS)]
        return self.placement.channels[channel] + tracks

    def _channels_near(self, y: int) -> list[int]:
        channels = self.placement.channels
        return sorted(range(len(channels)), key=lambda c: (abs(channels[c] - y), channels[c]))

    def _channels_below(self, y: int) -> list[int]:
        return [c for c, at in enumerate(self.placement.channels) if at > y + CLEARANCE]

    def _end_box(self, element: str) -> Box:
        if element in self.boxes:
            return self.boxes[element]
        if element in self.placement.black_boxes:
            return self.placement.black_boxes[element]
        assert self.placement.pool is not None
        return self.placement.pool


def _edge(box: Box, towards_y: int) -> int:
    """The y of the top or bottom border of ``box``, whichever faces ``towards_y``."""
    return box.bottom if towards_y > box.cy else box.y


def _crosses(box: Box, a: Point, b: Point) -> bool:
    """Whether segment ``a``-``b`` comes within ``CLEARANCE`` of ``box``."""
    return (
        min(a[0], b[0]) < box.right + CLEARANCE
        and max(a[0], b[0]) > box.x - CLEARANCE
        and min(a[1], b[1]) < box.bottom + CLEARANCE
        and max(a[1], b[1]) > box.y - CLEARANCE
    )


def _meets(first: Box, second: Box) -> bool:
    return (
        first.x < second.right
        and second.x < first.right
        and (first.y < second.bottom and second.y < first.bottom)
    )


def message_name_box(points: tuple[Point, ...], name: str) -> Box:
    """Where bpmn-js draws a message flow's envelope and, from its centre rightwards, the name."""
    x, y = _midpoint(points)
    return Box(x - NAME_INSET, y - NAME_INSET, len(name) * 13 // 2 + 6, NAME_HEIGHT)


def _midpoint(points: tuple[Point, ...]) -> Point:
    half = sum(abs(b[0] - a[0]) + abs(b[1] - a[1]) for a, b in pairwise(points)) / 2
    for a, b in pairwise(points):
        length = abs(b[0] - a[0]) + abs(b[1] - a[1])
        if half <= length:
            share = half / length if length else 0
            return round(a[0] + (b[0] - a[0]) * share), round(a[1] + (b[1] - a[1]) * share)
        half -= length
    return points[-1]


def _simplified(points: tuple[Point, ...]) -> tuple[Point, ...]:
    """Drop repeated points and the middle of straight runs; bpmn-js draws them as kinks."""
    kept: list[Point] = []
    for point in points:
        if kept and kept[-1] == point:
            continue
        if len(kept) >= 2 and _collinear(kept[-2], kept[-1], point):
            kept.pop()
        if not kept or kept[-1] != point:
            kept.append(point)
    return tuple(kept)


def _collinear(a: Point, b: Point, c: Point) -> bool:
    return a[0] == b[0] == c[0] or a[1] == b[1] == c[1]
