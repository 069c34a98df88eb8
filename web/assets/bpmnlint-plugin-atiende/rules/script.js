/* A script task carries its script: the engine's lint refuses one without it at deploy, in the same words. */
const { is } = require("bpmnlint-utils");

module.exports = function () {
  function check(node, reporter) {
    if (is(node, "bpmn:ScriptTask") && !(node.script || "").trim()) {
      reporter.report(node.id, "la tarea de script no tiene script");
    }
  }

  return { check };
};
