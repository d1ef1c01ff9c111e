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
// Object browser: "select all" for the delete check boxes; bound again
// when the listing is swapped in place after uploads ("coffer:listing").
(function () {
  function bind() {
    var all = document.getElementById("pick-all");
    var form = document.getElementById("listing");
    if (!all || !form) { return; }
    var boxes = form.querySelectorAll("input[type=checkbox][name]");
    if (!boxes.length) { return; }
    all.hidden = false;
    all.addEventListener("change", function () {
      boxes.forEach(function (b) { b.checked = all.checked; });
    });
  }
  bind();
  document.addEventListener("coffer:listing", bind);
})();
// Uploads: files and whole folders dropped on the page or chosen with the
// pickers. Several files at once, each with a progress bar; files at or above
// the threshold go in parallel multipart parts; every upload can be cancelled.
(function () {
  var zone = document.getElementById("upload");
  if (!zone || !window.XMLHttpRequest || !window.Promise) { return; }
  var note = document.getElementById("upload-js-note");
  if (note) { note.hidden = true; }
  var bucket = zone.getAttribute("data-bucket");
  var prefix = zone.getAttribute("data-prefix") || "";
  var csrf = zone.getAttribute("data-csrf");
  var basePartSize = Number(zone.getAttribute("data-part-size"));
  var threshold = Number(zone.getAttribute("data-threshold"));
  var list = document.getElementById("uploads");
  var done = document.getElementById("uploads-done");
  var stale = document.getElementById("uploads-stale");
  var FILES_AT_ONCE = 3;
  var PARTS_AT_ONCE = 4;
  var queue = [];
  var running = 0;
  var unfinished = 0;

  function api(path, key, extra) {
    return "/api/buckets/" + encodeURIComponent(bucket) + path + "?key=" + encodeURIComponent(key) + (extra || "");
  }
  function human(n) {
    var units = ["B", "KiB", "MiB", "GiB", "TiB"];
    var u = 0;
    while (n >= 1024 && u < units.length - 1) { n /= 1024; u++; }
    return (u === 0 ? n : n.toFixed(1)) + " " + units[u];
  }
  // One request; resolves with the JSON answer, rejects with its error text.
  function send(job, method, url, body, headers, onProgress) {
    return new Promise(function (resolve, reject) {
      if (job.cancelled) { reject(new Error("Cancelled")); return; }
      var xhr = new XMLHttpRequest();
      job.xhrs.push(xhr);
      xhr.open(method, url);
      xhr.setRequestHeader("x-csrf-token", csrf);
      Object.keys(headers || {}).forEach(function (h) { if (headers[h]) { xhr.setRequestHeader(h, headers[h]); } });
      if (onProgress) { xhr.upload.onprogress = function (e) { onProgress(e.loaded); }; }
      function forget() { job.xhrs = job.xhrs.filter(function (x) { return x !== xhr; }); }
      xhr.onload = function () {
        forget();
        var answer = {};
        try { answer = JSON.parse(xhr.responseText || "{}"); } catch (e) { answer = {}; }
        if (xhr.status >= 200 && xhr.status < 300) { resolve(answer); }
        else { reject(new Error(answer.error || ("The server answered " + xhr.status + "."))); }
      };
      xhr.onerror = function () { forget(); reject(new Error("The connection failed; nothing was stored.")); };
      xhr.onabort = function () { forget(); reject(new Error("Cancelled")); };
      xhr.send(body);
    });
  }
  function show(job) {
    var sent = 0;
    Object.keys(job.loaded).forEach(function (k) { sent += job.loaded[k]; });
    sent = Math.min(sent, job.file.size);
    job.bar.value = sent;
    job.status.textContent = human(sent) + " of " + human(job.file.size);
  }
  function single(job) {
    var headers = { "Content-Type": job.file.type || "application/octet-stream" };
    return send(job, "PUT", api("/object", job.key), job.file, headers, function (n) { job.loaded[0] = n; show(job); });
  }
  function multipart(job) {
    var size = job.file.size;
    // S3 allows 10,000 parts: very large files get larger parts.
    var partSize = Math.max(basePartSize, Math.ceil(size / 10000));
    var count = Math.max(1, Math.ceil(size / partSize));
    var etags = [];
    var next = 1;
    function worker() {
      if (next > count || job.cancelled) { return Promise.resolve(); }
      var n = next++;
      var blob = job.file.slice((n - 1) * partSize, Math.min(n * partSize, size));
      var url = api("/uploads/" + encodeURIComponent(job.uploadId), job.key, "&part=" + n);
      return send(job, "PUT", url, blob, {}, function (b) { job.loaded[n] = b; show(job); })
        .then(function (a) { job.loaded[n] = blob.size; etags[n - 1] = { part: n, etag: a.etag }; show(job); return worker(); });
    }
    return send(job, "POST", api("/uploads", job.key), null, { "x-object-content-type": job.file.type })
      .then(function (a) {
        job.uploadId = a.uploadId;
        var workers = [];
        for (var i = 0; i < Math.min(PARTS_AT_ONCE, count); i++) { workers.push(worker()); }
        return Promise.all(workers);
      })
      .then(function () {
        job.status.textContent = "Assembling " + count + " parts…";
        var url = api("/uploads/" + encodeURIComponent(job.uploadId) + "/complete", job.key);
        return send(job, "POST", url, JSON.stringify({ parts: etags }), { "Content-Type": "application/json" });
      })
      .catch(function (e) { abort(job); throw e; });
  }
  function abort(job) {
    if (!job.uploadId || job.aborted) { return; }
    job.aborted = true;
    var xhr = new XMLHttpRequest();
    xhr.open("DELETE", api("/uploads/" + encodeURIComponent(job.uploadId), job.key));
    xhr.setRequestHeader("x-csrf-token", csrf);
    xhr.send();
  }
  // The folder's listing and the bucket's totals, read again (this same
  // page, fetched and parsed: none of its scripts run) and swapped in place
  // (every element marked data-refresh, by id), so finished uploads show
  // without a reload. Check boxes keep their state. At most one read at a
  // time; uploads finishing meanwhile ask for one more.
  var refreshing = false;
  var again = false;
  var refreshes = 0;
  function refresh() {
    if (refreshing) { again = true; return; }
    refreshing = true;
    fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) {
        if (!r.ok) { throw new Error("HTTP " + r.status); }
        return r.text();
      })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html");
        var checked = {};
        document.querySelectorAll("#listing input[type=checkbox][name]:checked").forEach(function (b) {
          checked[b.name + "\n" + b.value] = true;
        });
        document.querySelectorAll("[data-refresh]").forEach(function (el) {
          var next = el.id && fresh.getElementById(el.id);
          if (next) { el.replaceWith(document.importNode(next, true)); }
        });
        document.querySelectorAll("#listing input[type=checkbox][name]").forEach(function (b) {
          if (checked[b.name + "\n" + b.value]) { b.checked = true; }
        });
        document.dispatchEvent(new Event("coffer:listing"));
        refreshes++;
        zone.setAttribute("data-refreshes", String(refreshes));
        stale.hidden = true;
      })
      .catch(function () { stale.hidden = false; })
      .then(function () {
        refreshing = false;
        if (again) { again = false; refresh(); }
      });
  }
  function finish(job, ok, message) {
    job.li.classList.add(ok ? "ok" : "failed");
    job.li.setAttribute("data-state", ok ? "done" : (job.cancelled ? "cancelled" : "failed"));
    job.cancel.hidden = true;
    if (ok) { job.bar.value = job.file.size; }
    job.status.textContent = ok ? "Done, " + human(job.file.size) : message;
    unfinished--;
    if (unfinished === 0) {
      done.hidden = false;
      refresh();
    }
  }
  function pump() {
    while (running < FILES_AT_ONCE && queue.length) {
      var job = queue.shift();
      if (job.cancelled) { continue; }
      running++;
      (function (job) {
        job.li.setAttribute("data-state", "uploading");
        (job.file.size >= threshold ? multipart(job) : single(job)).then(
          function () { finish(job, true); },
          function (e) { finish(job, false, job.cancelled ? "Cancelled; nothing was stored." : e.message); }
        ).then(function () { running--; pump(); });
      })(job);
    }
  }
  function add(file, path) {
    var key = prefix + path;
    var li = document.createElement("li");
    li.setAttribute("data-key", key);
    li.setAttribute("data-state", "queued");
    var name = document.createElement("span");
    name.className = "name";
    name.textContent = path;
    var bar = document.createElement("progress");
    bar.max = Math.max(file.size, 1);
    bar.value = 0;
    var status = document.createElement("span");
    status.className = "muted";
    status.textContent = "Waiting…";
    var cancel = document.createElement("button");
    cancel.type = "button";
    cancel.className = "secondary";
    cancel.textContent = "Cancel";
    li.append(name, bar, status, cancel);
    list.appendChild(li);
    var job = { file: file, key: key, li: li, bar: bar, status: status, cancel: cancel, xhrs: [], loaded: {}, cancelled: false };
    cancel.addEventListener("click", function () {
      job.cancelled = true;
      job.xhrs.slice().forEach(function (x) { x.abort(); });
      abort(job);
      if (li.getAttribute("data-state") === "queued") { finish(job, false, "Cancelled; nothing was stored."); }
    });
    unfinished++;
    done.hidden = true;
    queue.push(job);
    pump();
  }
  // A dropped folder: read its entries (in batches, as browsers hand them out).
  function walk(entry, path) {
    if (entry.isFile) {
      entry.file(function (f) { add(f, path + entry.name); }, function () {});
    } else if (entry.isDirectory) {
      var reader = entry.createReader();
      var more = function () {
        reader.readEntries(function (batch) {
          if (!batch.length) { return; }
          batch.forEach(function (child) { walk(child, path + entry.name + "/"); });
          more();
        }, function () {});
      };
      more();
    }
  }
  function dropped(dt) {
    if (!dt) { return; }
    var items = dt.items ? Array.prototype.slice.call(dt.items) : [];
    if (items.length) {
      // Entries must be taken while the event is being handled.
      var picked = items.filter(function (it) { return it.kind === "file"; }).map(function (it) {
        var entry = it.webkitGetAsEntry ? it.webkitGetAsEntry() : null;
        return { entry: entry, file: entry ? null : it.getAsFile() };
      });
      picked.forEach(function (p) {
        if (p.entry) { walk(p.entry, ""); } else if (p.file) { add(p.file, p.file.name); }
      });
    } else {
      Array.prototype.forEach.call(dt.files || [], function (f) { add(f, f.name); });
    }
  }
  function hasFiles(e) {
    var types = e.dataTransfer ? Array.prototype.slice.call(e.dataTransfer.types || []) : [];
    return types.indexOf("Files") >= 0;
  }
  document.addEventListener("dragover", function (e) {
    if (!hasFiles(e)) { return; }
    e.preventDefault();
    zone.classList.add("over");
  });
  document.addEventListener("dragleave", function (e) {
    if (e.target === document.documentElement || e.target === document.body) { zone.classList.remove("over"); }
  });
  document.addEventListener("drop", function (e) {
    e.preventDefault();
    zone.classList.remove("over");
    dropped(e.dataTransfer);
  });
  function picked(input) {
    input.addEventListener("change", function () {
      Array.prototype.forEach.call(input.files, function (f) { add(f, f.webkitRelativePath || f.name); });
      input.value = "";
    });
  }
  picked(document.getElementById("pick-files"));
  picked(document.getElementById("pick-folder"));
  document.getElementById("uploads-reload").addEventListener("click", function (e) {
    e.preventDefault();
    window.location.reload();
  });
})();
