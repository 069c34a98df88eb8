/* A plain start event and a user task must sit in the lane of a known role: the lane says who
   starts the procedure and who works the task (engine/bpm/rules.py unnamed_starters,
   engine/bpm/parsing.py lint). Config: { roles: [codes] }. Elements directly in a process; the
   engine checks those inside subprocesses at «Validar». */
const { is } = require("bpmnlint-utils");
const { roleOfLane, lanesOf, byHand } = require("../util");

module.exports = function (config) {
  const roles = (config && config.roles) || [];

  function check(node, reporter) {
    if (!is(node, "bpmn:Process")) { return; }
    const lanes = lanesOf(node);
    for (const element of node.flowElements || []) {
      const lane = lanes[element.id];
      if (byHand(element) && roleOfLane(lane, roles) === null) {
        reporter.report(element.id, lane
          ? "el evento de inicio está en el carril «" + lane + "», que no es un rol conocido: nadie podría iniciar el procedimiento"
          : "el evento de inicio no está en ningún carril: póngalo en el carril del rol que inicia el procedimiento");
      }
      if (is(element, "bpmn:UserTask") && roleOfLane(lane, roles) === null) {
        reporter.report(element.id, "la tarea no está en un carril de un rol conocido (" + (lane || "sin carril") + ")");
      }
    }
  }

  return { check };
};
