"""Every diagram of processes/ opens in bpmn-js (the editor analysts use) with each element drawn.

The geometry is checked without a browser in tests/unit/test_diagram_layout.py; here the real
viewer imports each file, in Debian's chromium, and must draw a shape for every element.
"""

from __future__ import annotations

import pytest
from lxml import etree

from engine.facade import PROCESSES_DIR
from tests.fixtures import live
from web.vendor import BPMN_JS_DIST, bpmn_js_installed

pytestmark = [
    pytest.mark.skipif(not live.chromium_available(), reason=live.CHROMIUM_MISSING),
    pytest.mark.skipif(
        not bpmn_js_installed(), reason="bpmn-js is not installed in web/assets (make install runs npm ci)"
    ),
]
MODEL = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
# SpiffWorkflow names a multi-instance task's lists by their variable (loopDataInputRef lotes), where
# BPMN expects a reference to a declared data input; bpmn-js says so and draws the diagram all the same.
KNOWN_WARNINGS = {"unresolved reference <lotes>", "unresolved reference <limpiezas>"}
IMPORT = """async (xml) => {
    const viewer = new BpmnJS({container: '#lienzo'});
    try {
        const result = await viewer.importXML(xml);
        const drawn = viewer.get('elementRegistry').getAll().map(e => e.id);
        return {warnings: result.warnings.map(w => w.message), drawn};
    } catch (error) { return {error: String(error)}; }
}"""


def flow_elements(xml: bytes) -> set[str]:
    root = etree.fromstring(xml)
    kinds = (
        "sequenceFlow",
        "startEvent",
        "endEvent",
        "userTask",
        "scriptTask",
        "serviceTask",
        "callActivity",
        "subProcess",
        "exclusiveGateway",
        "parallelGateway",
        "intermediateCatchEvent",
        "intermediateThrowEvent",
        "boundaryEvent",
        "lane",
    )
    return {e.get("id") for kind in kinds for e in root.iter(f"{MODEL}{kind}")}


@pytest.fixture(scope="module")
def viewer_page():
    """One browser for every diagram: a blank page with the bpmn-js viewer loaded."""
    with live.browser_page() as page:
        page.set_content('<div id="lienzo" style="width:1600px;height:900px"></div>')
        page.add_script_tag(path=str(BPMN_JS_DIST / "bpmn-viewer.production.min.js"))
        yield page


@pytest.mark.parametrize("path", sorted(PROCESSES_DIR.glob("*.bpmn")), ids=lambda p: p.name)
def test_the_diagram_opens_in_bpmn_js_with_every_element_drawn(viewer_page, path):
    xml = path.read_bytes()
    result = viewer_page.evaluate(IMPORT, xml.decode("utf-8"))
    assert "error" not in result, result
    assert set(result["warnings"]) <= KNOWN_WARNINGS
    assert flow_elements(xml) <= set(result["drawn"])
