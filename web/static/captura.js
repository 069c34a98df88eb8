// Quick capture during a call: the first field (or the first with an error) gets the focus,
// and Ctrl+Enter (Cmd+Enter on a Mac) registers from a long-text field, where Enter is a new line.
(function () {
  var form = document.querySelector("form[data-primer-campo]");
  if (!form) { return; }
  var first = form.querySelector("[aria-invalid='true']") ||
    form.querySelector("input:not([type=hidden]), select, textarea");
  if (first) { first.focus(); }
  form.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && event.target.tagName === "TEXTAREA") {
      event.preventDefault();
      form.requestSubmit ? form.requestSubmit() : form.submit();
    }
  });
}());
