/* What a second token does at an open user task (spiffworkflow property «repeticion»): «renovar» or
   «acumular», and only on a user task (engine/bpm/repeats.py, checked at deploy in the same words). */
const { is } = require("bpmnlint-utils");

const VALUES = ["acumular", "renovar"];

/* The element's «repeticion» property: its value ("" when empty), or null when it has none. */
function repeticion(node) {
  const values = (node.extensionElements && node.extensionElements.values) || [];
  for (const holder of values) {
    if (holder.$type !== "spiffworkflow:properties") { continue; }
    for (const property of holder.$children || []) {
      if (property.name === "repeticion") { return property.value || ""; }
    }
  }
  return null;
}

module.exports = function () {
  function check(node, reporter) {
    const value = repeticion(node);
    if (value === null) { return; }
    if (!is(node, "bpmn:UserTask")) {
      reporter.report(node.id, "la propiedad «repeticion» solo vale en una tarea de usuario");
    } else if (VALUES.indexOf(value) < 0) {
      reporter.report(node.id, "la propiedad «repeticion» vale «renovar» o «acumular», no «" + value + "»");
    }
  }

  return { check };
};
