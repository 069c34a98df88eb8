/* A script task carries its script: SpiffWorkflow refuses one without it at deploy. */
const { is } = require("bpmnlint-utils");

module.exports = function () {
  function check(node, reporter) {
    if (is(node, "bpmn:ScriptTask") && !(node.script || "").trim()) {
      reporter.report(node.id, "la tarea de script no tiene script");
    }
  }

  return { check };
};
