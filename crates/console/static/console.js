// Coffer console: small progressive enhancements; every page works without it.
"use strict";
(function () {
  // Prevent double submission: disable a form's buttons once it is sent.
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    window.setTimeout(function () {
      form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
    }, 0);
  });
  // Region selector: submit on change (a button is there for no-JS use).
  document.querySelectorAll("select[data-autosubmit]").forEach(function (sel) {
    sel.addEventListener("change", function () { sel.form.submit(); });
    var btn = sel.form.querySelector("button");
    if (btn) { btn.hidden = true; }
  });
  // Focus the first field that reports an error, else the first autofocus field.
  var bad = document.querySelector("[aria-invalid=true]");
  if (bad) { bad.focus(); }
})();
