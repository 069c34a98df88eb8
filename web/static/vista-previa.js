// The preview of the e-mail to the citizen on the case page: as the operator types, the
// form is posted to the preview route (Accept: application/json) a moment after the last key, and
// the text the server rendered with the approved template replaces the preview. Without this
// script the «Vista previa» button posts the form and the page comes back with the preview.
(function () {
  var panel = document.querySelector("[data-vista-previa]");
  var form = document.getElementById("formulario-tarea");
  if (!panel || !form || !window.fetch || !window.FormData) { return; }
  var url = panel.getAttribute("data-vista-previa");
  var button = panel.querySelector("button[formaction]");
  var timer = null;
  var latest = 0;

  function show(name, text) {
    var element = panel.querySelector("[data-campo='" + name + "']");
    if (element) { element.textContent = text || ""; }
    return element;
  }

  function refresh() {
    var asked = ++latest;
    fetch(url, {
      method: "POST",
      body: new FormData(form),
      headers: { "Accept": "application/json" },
      credentials: "same-origin"
    }).then(function (response) {
      return response.json();
    }).then(function (preview) {
      if (asked !== latest) { return; }  // an older answer arriving late
      show("para", preview.para);
      show("asunto", preview.asunto);
      show("cuerpo", preview.cuerpo);
      panel.querySelector("[data-campo='correo']").hidden = !preview.cuerpo;
      show("aviso", preview.aviso).hidden = !preview.aviso;
    }).catch(function () {
      show("aviso", "No se pudo actualizar la vista previa. Use el botón «Vista previa».").hidden = false;
    });
  }

  function later() {
    clearTimeout(timer);
    timer = setTimeout(refresh, 600);
  }

  form.addEventListener("input", later);
  form.addEventListener("change", later);
  if (button) {
    button.addEventListener("click", function (event) {
      event.preventDefault();
      clearTimeout(timer);
      refresh();
    });
  }
}());
