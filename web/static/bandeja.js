// The bandeja keeps itself current: it fetches its results again (/bandeja/filas, the same
// filters) when the window regains focus or becomes visible, every 60 seconds, and on
// «Actualizar»; the tasks marked stay marked. Without JavaScript «Actualizar» reloads the page.
(function () {
  "use strict";
  var region = document.getElementById("bandeja-resultados");
  var status = document.getElementById("bandeja-aviso");
  var button = document.getElementById("bandeja-actualizar");
  if (!region || !status || !window.fetch) {
    return;
  }
  var EVERY = 60000;
  var QUIET = 5000; // focus and visibilitychange come together: one fetch
  var busy = false;
  var last = Date.now();

  function text(node) {
    return node.textContent.replace(/\s+/g, " ").trim();
  }

  function say(message) {
    status.textContent = "";
    window.setTimeout(function () { status.textContent = message; }, 50);
  }

  function refresh(asked) {
    if (busy || (!asked && Date.now() - last < QUIET)) {
      return;
    }
    // Never pull the rows from under someone working in them; their next visit refreshes.
    if (!asked && region.contains(document.activeElement)) {
      return;
    }
    busy = true;
    last = Date.now();
    fetch(region.getAttribute("data-filas"), { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        if (!response.ok || response.redirected) {
          throw new Error(String(response.status));
        }
        return response.text();
      })
      .then(function (html) {
        var fresh = document.createElement("template");
        fresh.innerHTML = html;
        var changed = text(fresh.content) !== text(region);
        if (changed) {
          var marked = {};
          region.querySelectorAll('input[name="tarea"]:checked').forEach(function (box) { marked[box.value] = true; });
          region.replaceChildren(fresh.content);
          region.querySelectorAll('input[name="tarea"]').forEach(function (box) { box.checked = !!marked[box.value]; });
        }
        if (changed || asked) {
          var counts = region.querySelector(".resumen-conteo");
          say((changed ? "Bandeja actualizada: " : "La bandeja está al día: ") + (counts ? text(counts) : ""));
        }
      })
      .catch(function () {
        if (asked) {
          say("No se pudo actualizar la bandeja. Vuelva a cargar la página.");
        }
      })
      .then(function () { busy = false; });
  }

  if (button) {
    button.addEventListener("click", function (event) {
      event.preventDefault();
      refresh(true);
    });
  }
  window.addEventListener("focus", function () { refresh(false); });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") {
      refresh(false);
    }
  });
  window.setInterval(function () {
    if (document.visibilityState === "visible") {
      refresh(false);
    }
  }, EVERY);
})();
