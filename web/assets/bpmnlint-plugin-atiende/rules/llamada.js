/* A call activity invokes a process of the draft's diagram set (engine/bpm/rules.py
   unresolved_calls). Config: { processes: [ids] } — the processes the draft's files define. */
const { is } = require("bpmnlint-utils");

module.exports = function (config) {
  const processes = (config && config.processes) || [];

  function check(node, reporter) {
    if (!is(node, "bpmn:CallActivity")) { return; }
    const called = (node.calledElement || "").trim();
    if (!called) {
      reporter.report(node.id, "la actividad de llamada no indica qué proceso invoca (calledElement)");
    } else if (processes.indexOf(called) < 0) {
      reporter.report(node.id, "la actividad de llamada invoca el proceso «" + called + "», que no está en el conjunto de diagramas");
    }
  }

  return { check };
};
