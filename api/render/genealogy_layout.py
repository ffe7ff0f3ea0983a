"""Where each box and link of a genealogy drawing goes: a small layered (Sugiyama-style) layout.

Hand-written on purpose: no Graphviz binary is available where the service runs, and a layered
layout is a few dozen lines of standard library: layer = longest path from a root, placeholder
nodes where a link skips layers (so it never crosses a box), a few barycentre sweeps to reduce
crossings, then coordinates. The same input always gives the same layout.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import UTC, datetime
from itertools import pairwise

from registry.models import Batch, BatchLink, Event

BOX_W = 330
BAND_H = 26
LINE_H = 17
BOX_PAD = 10
GAP = 330  # between layers: a curve, then a straight stub that carries the link's label
V_GAP = 36  # between boxes of one layer
DUMMY_H = 14  # the slot a link passing through a layer takes
PORT_SPACING = 58  # between links entering one box: room for a three-line label
SWEEPS = 6


class Layout:
    """Layers, order within layers, and coordinates (relative to the drawing's origin)."""

    def __init__(
        self,
        batches: Mapping[str, Batch],
        links: list[BatchLink],
        events_of: Mapping[str, list[Event]],
    ) -> None:
        rank = {
            batch_id: n
            for n, batch_id in enumerate(
                sorted(batches, key=lambda i: (utc(batches[i].created_at), i))
            )
        }
        self.batch_order = sorted(batches, key=rank.__getitem__)
        layer = _longest_path_layers(self.batch_order, links)

        # Nodes are batch ids, or "~n" placeholders where a link crosses a layer.
        self.node_layer: dict[str, int] = dict(layer)
        self.chains: dict[tuple[str, str], list[str]] = {}
        up: dict[str, list[str]] = defaultdict(list)
        down: dict[str, list[str]] = defaultdict(list)
        for link in links:
            chain = [link.parent_id]
            for step in range(layer[link.parent_id] + 1, layer[link.child_id]):
                dummy = f"~{len(self.node_layer)}"
                self.node_layer[dummy] = step
                chain.append(dummy)
            chain.append(link.child_id)
            self.chains[(link.parent_id, link.child_id)] = chain
            for upper, lower in pairwise(chain):
                down[upper].append(lower)
                up[lower].append(upper)

        depth = max(self.node_layer.values(), default=0) + 1
        layers: list[list[str]] = [[] for _ in range(depth)]
        for node in self.batch_order:
            layers[layer[node]].append(node)
        for node, at in self.node_layer.items():
            if node.startswith("~"):
                layers[at].append(node)
        layers = _order(layers, up, down)

        # Sizes: a box grows so that links entering it have room for their labels.
        flagged_any = {i for i, found in events_of.items() if any(e.flagged for e in found)}
        size: dict[str, int] = {}
        for node in self.node_layer:
            if node.startswith("~"):
                size[node] = DUMMY_H
                continue
            lines = 8 + (node in flagged_any)
            base = BAND_H + lines * LINE_H + BOX_PAD
            size[node] = max(base, len(up[node]) * PORT_SPACING + 2 * BOX_PAD)
        centre = _vertical_positions(layers, size, up, down)
        top = min((centre[n] - size[n] // 2 for n in centre), default=0)

        self.boxes: dict[str, tuple[int, int, int, int]] = {}  # x, y, width, height
        for at, nodes in enumerate(layers):
            for node in nodes:
                y = centre[node] - size[node] // 2 - top
                # A placeholder spans the column too: its link runs straight through it.
                self.boxes[node] = (at * (BOX_W + GAP), y, BOX_W, size[node])
        self.width = depth * BOX_W + (depth - 1) * GAP
        self.height = max((y + h for _, y, _, h in self.boxes.values()), default=0)

        # Ports: links leave a box's right side and enter its left side, spread evenly and
        # ordered by where the other end is, so links into or out of one box never cross.
        self.out_y: dict[tuple[str, str], int] = {}
        self.in_y: dict[tuple[str, str], int] = {}
        for node, (_, y, _, h) in self.boxes.items():
            for ports, others in ((self.out_y, down[node]), (self.in_y, up[node])):
                ordered = sorted(others, key=lambda o: (self.boxes[o][1], o))
                for i, other in enumerate(ordered):
                    key = (node, other) if ports is self.out_y else (other, node)
                    ports[key] = y + h * (i + 1) // (len(ordered) + 1)


def _longest_path_layers(order: list[str], links: list[BatchLink]) -> dict[str, int]:
    """Layer = length of the longest path from a root, by Kahn's topological order."""
    children: dict[str, list[str]] = defaultdict(list)
    waiting = dict.fromkeys(order, 0)
    for link in links:
        children[link.parent_id].append(link.child_id)
        waiting[link.child_id] += 1
    layer = dict.fromkeys(order, 0)
    ready = [node for node in order if waiting[node] == 0]
    while ready:
        node = ready.pop()
        for child in children[node]:
            layer[child] = max(layer[child], layer[node] + 1)
            waiting[child] -= 1
            if waiting[child] == 0:
                ready.append(child)
    # Links never form a cycle; if data ever did, its batches keep the layer reached so
    # far and its links are drawn backwards rather than the picture failing.
    return layer


def _order(
    layers: list[list[str]], up: Mapping[str, list[str]], down: Mapping[str, list[str]]
) -> list[list[str]]:
    """Barycentre sweeps down and up, keeping the order with the fewest crossings."""

    def sweep(at: int, near: Mapping[str, list[str]], other: int) -> None:
        position = {n: i for i, n in enumerate(current[other])}
        own = {n: i for i, n in enumerate(current[at])}

        def weight(node: str) -> tuple[float, int]:
            seen = [position[n] for n in near[node] if n in position]
            return (sum(seen) / len(seen) if seen else own[node], own[node])

        current[at] = sorted(current[at], key=weight)

    current = [list(nodes) for nodes in layers]
    for at in range(1, len(current)):
        sweep(at, up, at - 1)
    best, fewest = [list(n) for n in current], _crossings(current, down)
    for _ in range(SWEEPS):
        for at in range(len(current) - 2, -1, -1):
            sweep(at, down, at + 1)
        for at in range(1, len(current)):
            sweep(at, up, at - 1)
        crossings = _crossings(current, down)
        if crossings < fewest:
            best, fewest = [list(n) for n in current], crossings
    return best


def _crossings(layers: list[list[str]], down: Mapping[str, list[str]]) -> int:
    total = 0
    for upper, lower in pairwise(layers):
        below = {n: i for i, n in enumerate(lower)}
        edges = sorted(
            (i, below[child]) for i, n in enumerate(upper) for child in down[n] if child in below
        )
        total += sum(1 for a, (_, lo) in enumerate(edges) for _, lo2 in edges[a + 1 :] if lo2 < lo)
    return total


def _vertical_positions(
    layers: list[list[str]],
    size: Mapping[str, int],
    up: Mapping[str, list[str]],
    down: Mapping[str, list[str]],
) -> dict[str, int]:
    """Centres: the tallest layer is stacked; every other layer, going outwards from it,
    puts each node level with the mean of its neighbours towards that layer, then pushes
    apart whatever overlaps, keeping the order."""
    centre: dict[str, int] = {}
    if not layers:
        return centre
    heights = [sum(size[n] for n in nodes) + V_GAP * (len(nodes) - 1) for nodes in layers]
    pivot = heights.index(max(heights))
    y = 0
    for node in layers[pivot]:
        centre[node] = y + size[node] // 2
        y += size[node] + V_GAP
    outward = [(at, down) for at in range(pivot - 1, -1, -1)]
    outward += [(at, up) for at in range(pivot + 1, len(layers))]
    for at, near in outward:
        wanted = {}
        for node in layers[at]:
            placed = [centre[n] for n in near[node] if n in centre]
            if placed:
                wanted[node] = sum(placed) // len(placed)
        bottom: int | None = None
        shift = []
        for node in layers[at]:
            half = size[node] // 2
            if bottom is None:
                # A node with no neighbour that way (a leaf left of the tallest layer)
                # goes just above the first that has one.
                c = wanted.get(node, min(wanted.values(), default=0) - size[node] - V_GAP)
            else:
                c = max(wanted.get(node, bottom + V_GAP + half), bottom + V_GAP + half)
            centre[node] = c
            bottom = c - half + size[node]
            if node in wanted:
                shift.append(c - wanted[node])
        # Pushing apart moves nodes down only; move the layer back up by the mean push.
        back = sum(shift) // len(shift) if shift else 0
        for node in layers[at]:
            centre[node] -= back
    return centre


def utc(moment: datetime | None) -> datetime:
    if moment is None:
        return datetime.min.replace(tzinfo=UTC)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
