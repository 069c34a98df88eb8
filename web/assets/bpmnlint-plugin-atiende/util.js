/* Helpers shared by the rules. */
const { is } = require("bpmnlint-utils");

const STOPWORDS = new Set(["de", "del", "la", "el", "al"]);

/* The role code a lane name stands for, as engine/access/roles.py role_of_lane reads it
   («Coordinación de Corregidores» → coordinacion_corregidores); null for none of ``roles``. */
function roleOfLane(lane, roles) {
  if (!lane) { return null; }
  const plain = lane.normalize("NFKD").replace(/[^\x00-\x7F]/g, "").toLowerCase();
  const code = plain.replace(/-/g, " ").split(/\s+/).filter((w) => w && !STOPWORDS.has(w)).join("_");
  return roles.indexOf(code) >= 0 ? code : null;
}

/* A spiffworkflow:property of an element (its «formulario», «plazo»…), or "" when it has none. */
function spiffProperty(element, name) {
  const values = (element.extensionElements && element.extensionElements.values) || [];
  for (const holder of values) {
    if (holder.$type !== "spiffworkflow:properties") { continue; }
    for (const property of holder.$children || []) {
      if (property.name === name) { return property.value || ""; }
    }
  }
  return "";
}

/* Flow node id → the name of the lane it sits in, over a process's lane sets (nested lanes too). */
function lanesOf(process) {
  const found = {};
  (function walk(laneSets) {
    for (const laneSet of laneSets || []) {
      for (const lane of laneSet.lanes || []) {
        for (const node of lane.flowNodeRef || []) { found[node.id] = lane.name || ""; }
        walk(lane.childLaneSet ? [lane.childLaneSet] : []);
      }
    }
  })(process.laneSets);
  return found;
}

/* A start event a person triggers: no timer, message or other definition. */
function byHand(node) {
  return is(node, "bpmn:StartEvent") && !(node.eventDefinitions || []).length;
}

module.exports = { roleOfLane, spiffProperty, lanesOf, byHand };
