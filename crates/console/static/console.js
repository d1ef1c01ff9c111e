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
// New S3 key: copy buttons and a .csv download, built from the values on the
// page (no inline script; the secret never leaves the browser this way).
(function () {
  var card = document.querySelector("[data-key-card]");
  if (!card) { return; }
  function text(id) { var el = document.getElementById(id); return el ? el.textContent : ""; }
  if (navigator.clipboard) {
    card.querySelectorAll("button[data-copy]").forEach(function (b) {
      b.hidden = false;
      b.addEventListener("click", function () {
        navigator.clipboard.writeText(text(b.getAttribute("data-copy"))).then(function () {
          b.textContent = "Copied";
          window.setTimeout(function () { b.textContent = "Copy"; }, 2000);
        });
      });
    });
  }
  var csv = card.querySelector("button[data-key-csv]");
  if (csv && window.Blob && window.URL) {
    csv.hidden = false;
    csv.addEventListener("click", function () {
      var ak = text("fresh-ak");
      var body = "Access key ID,Secret access key,Region\r\n" +
        ak + "," + text("fresh-sk") + "," + text("fresh-region") + "\r\n";
      var url = URL.createObjectURL(new Blob([body], { type: "text/csv" }));
      var a = document.createElement("a");
      a.href = url;
      a.download = "coffer-" + ak + ".csv";
      document.body.appendChild(a);
      a.click();
      a.remove();
      window.setTimeout(function () { URL.revokeObjectURL(url); }, 1000);
    });
  }
})();
