/* A user task names its form (spiffworkflow property «formulario»), and a named form exists
   (engine/bpm/parsing.py lint). Config: { forms: [names] } — the draft's and the library's. */
const { is, isAny } = require("bpmnlint-utils");
const { spiffProperty } = require("../util");

module.exports = function (config) {
  const forms = (config && config.forms) || [];

  function check(node, reporter) {
    if (!isAny(node, ["bpmn:UserTask", "bpmn:StartEvent"])) { return; }
    const form = spiffProperty(node, "formulario");
    if (!form && is(node, "bpmn:UserTask")) {
      reporter.report(node.id, "la tarea no indica su formulario (propiedad «formulario»)");
    } else if (form && forms.indexOf(form) < 0) {
      reporter.report(node.id, "el formulario «" + form + "» no existe");
    }
  }

  return { check };
};
