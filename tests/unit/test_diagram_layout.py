"""Every diagram of processes/ draws cleanly in a diagram editor (bpmn-js): checked from its BPMN DI.

An analyst reads and edits the procedures in the editor, so each diagram must carry a shape
for every element and a line for every flow, with nothing drawn on top of anything else:
shapes apart (a subprocess around its own content, a boundary event on its host's border),
each element inside the lane that names it, lines that start and end on their own shapes
and never cross another shape.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

import pytest
from lxml import etree

PROCESSES_DIR = Path(__file__).resolve().parents[2] / "processes"

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
}
FLOW_NODES = {
    "startEvent",
    "endEvent",
    "intermediateCatchEvent",
    "intermediateThrowEvent",
    "boundaryEvent",
    "userTask",
    "scriptTask",
    "serviceTask",
    "manualTask",
    "task",
    "sendTask",
    "receiveTask",
    "callActivity",
    "subProcess",
    "exclusiveGateway",
    "parallelGateway",
    "inclusiveGateway",
    "eventBasedGateway",
}
DIAGRAMS = sorted(PROCESSES_DIR.glob("*.bpmn"))
TOLERANCE = 1.0


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    w: float
    h: float

    @property
    def centre(self):
        return self.x + self.w / 2, self.y + self.h / 2

    def overlaps(self, other: Box) -> bool:
        return (
            self.x < other.x + other.w - TOLERANCE
            and other.x < self.x + self.w - TOLERANCE
            and self.y < other.y + other.h - TOLERANCE
            and other.y < self.y + self.h - TOLERANCE
        )

    def contains(self, other: Box) -> bool:
        return (
            self.x <= other.x
            and self.y <= other.y
            and other.x + other.w <= self.x + self.w
            and other.y + other.h <= self.y + self.h
        )

    def holds_point(self, x, y) -> bool:
        return (
            self.x - TOLERANCE <= x <= self.x + self.w + TOLERANCE
            and self.y - TOLERANCE <= y <= self.y + self.h + TOLERANCE
        )

    def on_border(self, x, y) -> bool:
        if not self.holds_point(x, y):
            return False
        return min(abs(x - self.x), abs(x - self.x - self.w), abs(y - self.y), abs(y - self.y - self.h)) <= TOLERANCE

    def crossed_by(self, a, b) -> bool:
        """Whether the segment a-b passes through the inside of the box (not just along its border)."""
        inner = Box(self.x + TOLERANCE, self.y + TOLERANCE, self.w - 2 * TOLERANCE, self.h - 2 * TOLERANCE)
        steps = int(max(abs(b[0] - a[0]), abs(b[1] - a[1])) // 2) + 2
        return any(
            inner.holds_point(a[0] + (b[0] - a[0]) * i / steps, a[1] + (b[1] - a[1]) * i / steps)
            and not inner.on_border(a[0] + (b[0] - a[0]) * i / steps, a[1] + (b[1] - a[1]) * i / steps)
            for i in range(steps + 1)
        )


def _local(element) -> str:
    return etree.QName(element).localname


class Drawing:
    """The semantic elements of one diagram and the shapes and lines its DI gives them."""

    def __init__(self, path):
        root = etree.parse(str(path)).getroot()
        self.nodes = {}  # id -> (kind, element)
        self.parents = {}  # id -> id of the enclosing subProcess
        for process in root.iterfind("bpmn:process", NS):
            self._collect(process, None)
        self.flows = {f.get("id"): f for f in root.iter(f"{{{NS['bpmn']}}}sequenceFlow")}
        self.lanes = {
            lane.get("id"): [ref.text for ref in lane.iterfind("bpmn:flowNodeRef", NS)]
            for lane in root.iter(f"{{{NS['bpmn']}}}lane")
        }
        self.shapes = {}
        for shape in root.iter(f"{{{NS['bpmndi']}}}BPMNShape"):
            bounds = shape.find("dc:Bounds", NS)
            self.shapes[shape.get("bpmnElement")] = Box(*(float(bounds.get(k)) for k in ("x", "y", "width", "height")))
        self.edges = {
            edge.get("bpmnElement"): [(float(p.get("x")), float(p.get("y"))) for p in edge.iterfind("di:waypoint", NS)]
            for edge in root.iter(f"{{{NS['bpmndi']}}}BPMNEdge")
        }

    def _collect(self, container, parent):
        for child in container:
            if not isinstance(child.tag, str) or _local(child) not in FLOW_NODES:
                continue
            self.nodes[child.get("id")] = (_local(child), child)
            if parent:
                self.parents[child.get("id")] = parent
            if _local(child) == "subProcess":
                self._collect(child, child.get("id"))

    def ancestors(self, node_id):
        found = []
        while node_id in self.parents:
            node_id = self.parents[node_id]
            found.append(node_id)
        return found

    def host(self, node_id):
        kind, element = self.nodes[node_id]
        return element.get("attachedToRef") if kind == "boundaryEvent" else None

    def may_overlap(self, a, b) -> bool:
        return a in self.ancestors(b) or b in self.ancestors(a) or self.host(a) == b or self.host(b) == a


@pytest.fixture(params=DIAGRAMS, ids=lambda p: p.name)
def drawing(request):
    return Drawing(request.param)


def test_the_diagrams_are_there():
    assert {p.name for p in DIAGRAMS} >= {
        "tramitacion_comun.bpmn",
        "atencion_correo_web.bpmn",
        "atencion_llamadas.bpmn",
        "atencion_directa.bpmn",
        "seguimiento_consolidado.bpmn",
        "defensa_usuario_311.bpmn",
        "reunion_sugerencias.bpmn",
        "lotes_baldios.bpmn",
    }


def test_every_element_has_a_shape_and_every_flow_a_line(drawing):
    assert set(drawing.nodes) - set(drawing.shapes) == set()
    assert {f for f in drawing.flows if len(drawing.edges.get(f, [])) < 2} == set()


def test_no_shape_is_drawn_over_another(drawing):
    ids = sorted(drawing.nodes)
    clashes = [
        (a, b)
        for i, a in enumerate(ids)
        for b in ids[i + 1 :]
        if not drawing.may_overlap(a, b) and drawing.shapes[a].overlaps(drawing.shapes[b])
    ]
    assert clashes == []


def test_a_subprocess_is_drawn_around_its_content(drawing):
    outside = [
        n
        for n, parent in drawing.parents.items()
        if drawing.host(n) is None and not drawing.shapes[parent].contains(drawing.shapes[n])
    ]
    assert outside == []


def test_boundary_events_sit_on_their_hosts_border(drawing):
    off = [
        n
        for n in drawing.nodes
        if drawing.host(n) and not drawing.shapes[drawing.host(n)].on_border(*drawing.shapes[n].centre)
    ]
    assert off == []


def test_each_element_is_drawn_inside_its_lane(drawing):
    misplaced = [
        (lane, ref)
        for lane, refs in drawing.lanes.items()
        for ref in refs
        if drawing.nodes[ref][0] != "subProcess" and not drawing.shapes[lane].holds_point(*drawing.shapes[ref].centre)
    ]
    assert misplaced == []


def test_lines_start_and_end_on_their_shapes_and_cross_no_other(drawing):
    problems = []
    for flow_id, flow in drawing.flows.items():
        points = drawing.edges[flow_id]
        source, target = flow.get("sourceRef"), flow.get("targetRef")
        if not drawing.shapes[source].on_border(*points[0]):
            problems.append((flow_id, "does not start on", source))
        if not drawing.shapes[target].on_border(*points[-1]):
            problems.append((flow_id, "does not end on", target))
        allowed = {source, target, *drawing.ancestors(source), *drawing.ancestors(target)}
        allowed |= {h for h in (drawing.host(source), drawing.host(target)) if h}
        for other in drawing.nodes:
            if other in allowed:
                continue
            if any(drawing.shapes[other].crossed_by(a, b) for a, b in itertools.pairwise(points)):
                problems.append((flow_id, "crosses", other))
    assert problems == []
