/* In-browser diagram editor (bpmn-js Modeler) for the draft of a procedure.

   The diagram's XML travels in the form's #xml textarea: it is imported from there, and written
   back there just before the form is sent, so saving, validating and deploying are plain form
   posts with their CSRF token. The side panel edits what an analyst changes most: name,
   instructions, script, condition, timer expression and the task's «formulario» and «plazo»
   properties (spiffworkflow:property, kept as bpmn-js reads unknown extensions). Atiende's lint
   rules mark each element the engine would refuse on the canvas, as it is drawn. */
(function () {
  "use strict";
  var lienzo = document.getElementById("lienzo");
  var fuente = document.getElementById("xml");
  var formulario = document.getElementById("form-borrador");
  var panel = document.getElementById("propiedades");
  var estado = document.getElementById("editor-estado");
  if (!lienzo || !fuente || !formulario || typeof BpmnJS === "undefined") { return; }

  // Lint as the analyst draws: bpmn-js-bpmnlint's overlays with Atiende's rules (web/assets/src), fed
  // with the page's roles, forms and processes; without the bundle the editor still edits.
  var datosLint = document.getElementById("datos-lint");
  var opciones = { container: lienzo };
  if (window.AtiendeLint && datosLint) {
    opciones.additionalModules = window.AtiendeLint.modules;
    opciones.linting = { active: true, bpmnlint: window.AtiendeLint.bpmnlint(JSON.parse(datosLint.textContent)) };
  }
  var modeler = new BpmnJS(opciones);
  window.atiendeModeler = modeler;
  var TIMER_KINDS = [["timeDate", "Fecha (timeDate)"], ["timeDuration", "Duración (timeDuration)"], ["timeCycle", "Ciclo (timeCycle)"]];
  var SPIFF_PROPERTIES = "spiffworkflow:properties";

  fuente.readOnly = true;
  modeler.importXML(fuente.value).then(function (result) {
    var canvas = modeler.get("canvas");
    canvas.zoom("fit-viewport");
    (lienzo.dataset.problemas || "").split(" ").filter(Boolean).forEach(function (id) {
      if (modeler.get("elementRegistry").get(id)) { canvas.addMarker(id, "con-problema"); }
    });
    if (result.warnings && result.warnings.length) {
      estado.textContent = "Advertencias al abrir el diagrama: " + result.warnings.length;
    }
    lienzo.dataset.listo = "1";
  }).catch(function (error) {
    fuente.readOnly = false;
    estado.textContent = "No se pudo abrir el diagrama en el editor: " + error.message + ". Puede corregir el XML abajo.";
  });

  // Write the diagram into the form before it is sent (once per submission).
  formulario.addEventListener("submit", function (event) {
    if (formulario.dataset.sincronizado === "1" || lienzo.dataset.listo !== "1") { return; }
    event.preventDefault();
    var submitter = event.submitter;
    modeler.saveXML({ format: true }).then(function (saved) {
      fuente.value = saved.xml;
      formulario.dataset.sincronizado = "1";
      // A new task: a form ignores a submission requested while its submit event is still dispatching.
      window.setTimeout(function () { formulario.requestSubmit(submitter); }, 0);
    }).catch(function (error) {
      estado.textContent = "No se pudo leer el diagrama del editor: " + error.message;
    });
  });

  // -- the side panel ---------------------------------------------------------------------
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function field(id, label, value, multiline) {
    var wrap = el("div", { "class": "campo" });
    wrap.appendChild(el("label", { "for": id }, label));
    var input = multiline ? el("textarea", { id: id, rows: "5", "class": "codigo", spellcheck: "false" })
                          : el("input", { id: id, type: "text" });
    input.value = value || "";
    wrap.appendChild(input);
    return wrap;
  }

  function spiffProperties(bo) {
    var values = (bo.extensionElements && bo.extensionElements.values) || [];
    return values.filter(function (v) { return v.$type === SPIFF_PROPERTIES; })[0];
  }

  function spiffProperty(bo, name) {
    var props = spiffProperties(bo);
    var found = props && (props.$children || []).filter(function (p) { return p.name === name; })[0];
    return found ? found.value : "";
  }

  function setSpiffProperty(bo, name, value) {
    var props = spiffProperties(bo);
    if (!props) {
      if (!value) { return; }
      var moddle = modeler.get("moddle");
      if (!bo.extensionElements) { bo.extensionElements = moddle.create("bpmn:ExtensionElements", { values: [] }); bo.extensionElements.$parent = bo; }
      props = moddle.createAny(SPIFF_PROPERTIES, "http://spiffworkflow.org/bpmn/schema/1.0/core", { $children: [] });
      props.$parent = bo.extensionElements;
      bo.extensionElements.values.push(props);
    }
    props.$children = props.$children || [];
    var found = props.$children.filter(function (p) { return p.name === name; })[0];
    if (found && value) { found.value = value; return; }
    if (found) { props.$children.splice(props.$children.indexOf(found), 1); return; }
    if (value) {
      var prop = modeler.get("moddle").createAny("spiffworkflow:property", "http://spiffworkflow.org/bpmn/schema/1.0/core", { name: name, value: value });
      prop.$parent = props;
      props.$children.push(prop);
    }
  }

  function timerOf(bo) {
    var def = (bo.eventDefinitions || []).filter(function (d) { return d.$type === "bpmn:TimerEventDefinition"; })[0];
    if (!def) { return null; }
    var kind = TIMER_KINDS.map(function (k) { return k[0]; }).filter(function (k) { return def[k]; })[0] || "timeDuration";
    return { def: def, kind: kind, body: def[kind] ? def[kind].body : "" };
  }

  function show(element) {
    panel.textContent = "";
    panel.appendChild(el("h2", {}, "Propiedades"));
    if (!element || element.type === "bpmn:Process" || element.type === "label") {
      panel.appendChild(el("p", {}, "Seleccione un elemento del diagrama."));
      return;
    }
    var bo = element.businessObject;
    panel.appendChild(el("p", { "class": "detalle" }, element.type.replace("bpmn:", "") + " · " + element.id));
    panel.appendChild(field("prop-nombre", "Nombre", bo.name));
    var docs = (bo.documentation || [])[0];
    panel.appendChild(field("prop-instrucciones", "Instrucciones (documentación)", docs ? docs.text : "", true));
    if (element.type === "bpmn:ScriptTask") {
      panel.appendChild(field("prop-script", "Script", bo.script, true));
    }
    if (element.type === "bpmn:SequenceFlow") {
      panel.appendChild(field("prop-condicion", "Condición", bo.conditionExpression ? bo.conditionExpression.body : ""));
    }
    var timer = timerOf(bo);
    if (timer) {
      var wrap = el("div", { "class": "campo" });
      wrap.appendChild(el("label", { "for": "prop-tipo-temporizador" }, "Tipo de temporizador"));
      var select = el("select", { id: "prop-tipo-temporizador" });
      TIMER_KINDS.forEach(function (k) {
        var option = el("option", { value: k[0] }, k[1]);
        if (k[0] === timer.kind) { option.selected = true; }
        select.appendChild(option);
      });
      wrap.appendChild(select);
      panel.appendChild(wrap);
      panel.appendChild(field("prop-temporizador", "Expresión del temporizador (p. ej. \"P30D\" o fecha_limite)", timer.body));
    }
    if (element.type === "bpmn:UserTask" || element.type === "bpmn:StartEvent") {
      panel.appendChild(field("prop-formulario", "Formulario", spiffProperty(bo, "formulario")));
      if (element.type === "bpmn:UserTask") {
        panel.appendChild(field("prop-plazo", "Plazo de la tarea (p. ej. P1D)", spiffProperty(bo, "plazo")));
      }
      var nombre = spiffProperty(bo, "formulario");
      if (nombre && document.getElementById("formulario-" + nombre)) {
        var abrir = el("button", { type: "button", "class": "boton boton-claro" }, "Editar el formulario «" + nombre + "»");
        abrir.addEventListener("click", function () { elegirFormulario(nombre, true); });
        panel.appendChild(abrir);
      }
    }
    var aplicar = el("button", { type: "button", "class": "boton", id: "prop-aplicar" }, "Aplicar cambios");
    aplicar.addEventListener("click", function () { apply(element); });
    panel.appendChild(el("div", { "class": "acciones" })).appendChild(aplicar);
  }

  function value(id) { var node = document.getElementById(id); return node ? node.value : null; }

  function apply(element) {
    var modeling = modeler.get("modeling");
    var moddle = modeler.get("moddle");
    var bo = element.businessObject;
    modeling.updateProperties(element, { name: value("prop-nombre") || undefined });
    var docs = value("prop-instrucciones");
    modeling.updateProperties(element, { documentation: docs ? [moddle.create("bpmn:Documentation", { text: docs })] : [] });
    if (value("prop-script") !== null) { modeling.updateProperties(element, { script: value("prop-script") }); }
    if (value("prop-condicion") !== null) {
      var condition = value("prop-condicion").trim();
      modeling.updateProperties(element, {
        conditionExpression: condition ? moddle.create("bpmn:FormalExpression", { body: condition }) : undefined
      });
    }
    var timer = timerOf(bo);
    if (timer && value("prop-temporizador") !== null) {
      var changes = {};
      TIMER_KINDS.forEach(function (k) { changes[k[0]] = undefined; });
      changes[value("prop-tipo-temporizador")] = moddle.create("bpmn:FormalExpression", { body: value("prop-temporizador").trim() });
      modeling.updateModdleProperties(element, timer.def, changes);
    }
    if (value("prop-formulario") !== null) {
      setSpiffProperty(bo, "formulario", value("prop-formulario").trim());
      if (value("prop-plazo") !== null) { setSpiffProperty(bo, "plazo", value("prop-plazo").trim()); }
      modeling.updateProperties(element, {});  // tells the editor the element changed
    }
    estado.textContent = "Cambios aplicados a «" + (bo.name || element.id) + "». Guarde el borrador para conservarlos.";
    show(element);
  }

  modeler.on("selection.changed", function (event) { show(event.newSelection[0]); });

  // -- the forms beside the diagram: one visible at a time -------------------------------
  var selector = document.getElementById("selector-formulario");
  var eleccion = document.getElementById("elegir-formulario");
  function elegirFormulario(nombre, enfocar) {
    document.querySelectorAll(".formulario-json").forEach(function (box) {
      box.hidden = box.dataset.formulario !== nombre && !box.classList.contains("con-error");
    });
    eleccion.value = nombre;
    if (enfocar) { document.getElementById("form-" + nombre).focus(); }
  }
  if (selector && eleccion && eleccion.options.length) {
    selector.hidden = false;
    eleccion.addEventListener("change", function () { elegirFormulario(eleccion.value, false); });
    elegirFormulario(eleccion.value, false);
  }
}());
