// Files on record pages: drag and drop, upload progress and the server's refusal message.
// Progressive enhancement of attachments/partials/upload_form.html, which posts without
// JavaScript too. CSP-safe: no inline code, no eval; handlers are delegated on document so
// a refreshed section needs no re-binding.
(function () {
  "use strict";
  if (window.rapportAttachments) return; // the section may be on a page more than once
  window.rapportAttachments = true;

  function formOf(el) { return el && el.closest ? el.closest("form[data-upload-form]") : null; }

  function part(form, name) { return form.querySelector("[data-" + name + "]"); }

  function showError(form, message) {
    var box = part(form, "upload-error");
    box.textContent = message;
    box.hidden = !message;
  }

  function setBusy(form, busy) {
    form.classList.toggle("is-uploading", busy);
    var button = part(form, "upload-submit");
    if (button) button.disabled = busy;
    var bar = part(form, "upload-progress");
    bar.hidden = !busy;
    if (!busy) bar.value = 0;
  }

  function refresh(form) {
    var section = form.closest("[data-files-section]");
    var url = form.getAttribute("data-refresh-url");
    if (!section || !url) { window.location.reload(); return Promise.resolve(); }
    return fetch(url, { headers: { "HX-Request": "true" }, credentials: "same-origin" })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.text(); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.querySelector("[data-files-section]");
        if (fresh) section.replaceWith(fresh); else window.location.reload();
      })
      .catch(function () { window.location.reload(); });
  }

  function send(form, file) {
    return new Promise(function (resolve, reject) {
      var max = parseInt(form.getAttribute("data-max-bytes"), 10);
      if (max && file.size > max) {
        reject(new Error(file.name + " is larger than " + form.getAttribute("data-limit-text") +
          ", the largest file that can be attached."));
        return;
      }
      var data = new FormData();
      ["csrfmiddlewaretoken", "target_type", "target_id"].forEach(function (name) {
        var input = form.querySelector('input[name="' + name + '"]');
        if (input) data.append(name, input.value);
      });
      data.append("file", file, file.name);
      var xhr = new XMLHttpRequest(); // fetch() cannot report upload progress
      xhr.open("POST", form.action);
      xhr.setRequestHeader("Accept", "application/json");
      var token = form.querySelector('input[name="csrfmiddlewaretoken"]');
      if (token) xhr.setRequestHeader("X-CSRFToken", token.value);
      var bar = part(form, "upload-progress");
      xhr.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable) bar.value = Math.round((e.loaded / e.total) * 100);
      });
      xhr.addEventListener("load", function () {
        if (xhr.status >= 200 && xhr.status < 300) { resolve(); return; }
        var message = "The upload failed (" + xhr.status + ").";
        try { message = JSON.parse(xhr.responseText).error || message; } catch (ignored) { /* HTML error page */ }
        if (xhr.status === 403 && message.indexOf("(") === 0) message = "Your role cannot attach files.";
        reject(new Error(file.name + ": " + message));
      });
      xhr.addEventListener("error", function () { reject(new Error(file.name + ": the connection failed.")); });
      xhr.send(data);
    });
  }

  function upload(form, files) {
    if (!files || !files.length) return;
    showError(form, "");
    setBusy(form, true);
    var errors = [];
    var uploaded = 0;
    var chain = Promise.resolve();
    Array.prototype.forEach.call(files, function (file) {
      chain = chain.then(function () {
        return send(form, file).then(function () { uploaded += 1; }, function (err) { errors.push(err.message); });
      });
    });
    chain.then(function () {
      setBusy(form, false);
      var done = uploaded ? refresh(form) : Promise.resolve();
      return done.then(function () {
        // The section was replaced: show the errors in the fresh form.
        var target = document.querySelector('form[data-upload-form][action="' + form.getAttribute("action") + '"]') || form;
        showError(target, errors.join(" "));
      });
    });
  }

  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (!form.matches || !form.matches("form[data-upload-form]")) return;
    var input = part(form, "file-input");
    if (!input || !input.files.length || !window.FormData) return; // let the browser post it
    e.preventDefault();
    upload(form, input.files);
    input.value = "";
  });

  document.addEventListener("change", function (e) {
    if (!e.target.matches || !e.target.matches("input[data-file-input]")) return;
    var form = formOf(e.target);
    if (form && e.target.files.length) {
      upload(form, e.target.files);
      e.target.value = "";
    }
  });

  ["dragenter", "dragover"].forEach(function (type) {
    document.addEventListener(type, function (e) {
      var form = formOf(e.target);
      if (!form) return;
      e.preventDefault(); // lets the drop happen here instead of the browser opening the file
      form.classList.add("is-dragover");
    });
  });
  ["dragleave", "drop"].forEach(function (type) {
    document.addEventListener(type, function (e) {
      var form = formOf(e.target);
      if (!form) return;
      if (type === "dragleave" && form.contains(e.relatedTarget)) return;
      form.classList.remove("is-dragover");
      if (type === "drop") {
        e.preventDefault();
        upload(form, e.dataTransfer && e.dataTransfer.files);
      }
    });
  });
})();
