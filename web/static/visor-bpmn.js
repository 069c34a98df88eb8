/* Read-only diagram (bpmn-js NavigatedViewer): loads the XML of #visor and marks the path a case
   took (data-recorrido), its current tasks (data-actual) and its armed events (data-espera). */
(function () {
  "use strict";
  var visor = document.getElementById("visor");
  var estado = document.getElementById("visor-estado");
  if (!visor || typeof BpmnJS === "undefined") { return; }
  var ids = function (name) { return (visor.dataset[name] || "").split(" ").filter(Boolean); };
  var viewer = new BpmnJS({ container: visor });
  window.atiendeVisor = viewer;

  fetch(visor.dataset.xmlUrl, { credentials: "same-origin" })
    .then(function (response) {
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.text();
    })
    .then(function (xml) { return viewer.importXML(xml); })
    .then(function () {
      var canvas = viewer.get("canvas");
      // The drawing is one image, named; the SVG (focusable, for moving it with the keys) carries the name.
      var svg = visor.querySelector("svg");
      if (svg) { svg.setAttribute("role", "img"); svg.setAttribute("aria-label", visor.dataset.nombre); }
      var registry = viewer.get("elementRegistry");
      var marked = {};
      [["recorrido", ids("recorrido")], ["actual", ids("actual")], ["espera", ids("espera")]].forEach(function (pair) {
        pair[1].forEach(function (id) {
          if (registry.get(id)) { canvas.addMarker(id, pair[0]); marked[id] = true; }
        });
      });
      // A flow was taken when both its ends were reached.
      registry.filter(function (e) { return e.waypoints && e.source && e.target; }).forEach(function (flow) {
        if (marked[flow.source.id] && marked[flow.target.id]) { canvas.addMarker(flow.id, "recorrido"); }
      });
      canvas.zoom("fit-viewport");
      visor.dataset.listo = "1";
      visor.dispatchEvent(new CustomEvent("visor-listo"));  // for pages that add to the drawing (mapa-calor.js)
    })
    .catch(function (error) {
      if (estado) { estado.textContent = "No se pudo mostrar el diagrama: " + error.message; }
    });
}());
