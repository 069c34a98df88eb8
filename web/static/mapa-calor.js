/* The heatmap over the read-only diagram: fetches the figures per step (data-cifras-url
   of #mapa-calor) and, once visor-bpmn.js has drawn the diagram ("visor-listo"), colours each step
   by its heat (a bpmn-js marker) and lays its numbers over it as text (a bpmn-js overlay), so the
   colour is never the only cue. The table below the diagram holds the same figures. */
(function () {
  "use strict";
  var mapa = document.getElementById("mapa-calor");
  var visor = document.getElementById("visor");
  var estado = document.getElementById("visor-estado");
  if (!mapa || !visor) { return; }
  var cifras = fetch(mapa.dataset.cifrasUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then(function (response) {
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.json();
    });
  var dibujado = new Promise(function (resolve) {
    if (visor.dataset.listo === "1") { resolve(); return; }
    visor.addEventListener("visor-listo", function () { resolve(); }, { once: true });
  });
  Promise.all([cifras, dibujado])
    .then(function (results) {
      var viewer = window.atiendeVisor;
      var canvas = viewer.get("canvas");
      var overlays = viewer.get("overlays");
      var registry = viewer.get("elementRegistry");
      results[0].pasos.forEach(function (paso) {
        if (!registry.get(paso.id)) { return; }
        canvas.addMarker(paso.id, "calor-" + paso.calor);
        var partes = [paso.en_espera + " en espera"];
        if (paso.mediana) {
          partes.push("mediana " + paso.mediana.texto, "p90 " + paso.p90.texto);
        } else {
          partes.push("ninguna completada");
        }
        if (paso.calor === 3) { partes.unshift(paso.calor_texto); }
        var nota = document.createElement("div");
        nota.className = "nota-calor calor-" + paso.calor;
        nota.setAttribute("data-paso", paso.id);
        nota.textContent = partes.join(" · ");
        overlays.add(paso.id, "calor", { position: { bottom: -6, left: -20 }, html: nota });
      });
      mapa.dataset.listo = "1";
    })
    .catch(function (error) {
      if (estado) { estado.textContent = "No se pudieron mostrar los tiempos sobre el diagrama: " + error.message; }
    });
}());
