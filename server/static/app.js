// Mobile ARS console: call-list upload with a progress bar, and import job polling.
(function () {
  "use strict";
  var csrf = document.querySelector('meta[name="csrf-token"]');
  csrf = csrf ? csrf.content : "";

  function showProgress(box, fraction, label) {
    box.hidden = false;
    box.querySelector(".bar").style.width = Math.round(fraction * 1000) / 10 + "%";
    box.querySelector(".label").textContent = label + " " + Math.round(fraction * 100) + "%";
  }

  // Progress bars drawn by the server: their width from data-fraction (the
  // policy allows no style="" attributes).
  Array.prototype.forEach.call(document.querySelectorAll(".bar[data-fraction]"), function (bar) {
    var fraction = parseFloat(bar.dataset.fraction);
    if (fraction >= 0) bar.style.width = Math.round(Math.min(fraction, 1) * 1000) / 10 + "%";
  });

  // "‹ 이전" on error pages goes back a page (the link itself leads home).
  Array.prototype.forEach.call(document.querySelectorAll("a[data-back]"), function (link) {
    link.addEventListener("click", function (event) {
      if (window.history.length > 1) {
        event.preventDefault();
        window.history.back();
      }
    });
  });

  // Upload with XMLHttpRequest so the browser reports upload progress.
  var form = document.getElementById("contact-upload");
  if (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var box = form.querySelector(".progress");
      var error = form.querySelector(".upload-error");
      var button = form.querySelector("button[type=submit]");
      error.hidden = true;
      button.disabled = true;
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.setRequestHeader("X-CSRFToken", csrf);
      xhr.upload.onprogress = function (e) {
        if (e.lengthComputable) showProgress(box, e.loaded / e.total, document.documentElement.lang === "en" ? "Uploading" : "전송 중");
      };
      xhr.onload = function () {
        var body = {};
        try { body = JSON.parse(xhr.responseText); } catch (e) { body = { error: xhr.statusText || "error" }; }
        if (xhr.status >= 200 && xhr.status < 300 && body.url) {
          window.location.href = body.url;
        } else {
          button.disabled = false;
          box.hidden = true;
          error.textContent = body.error || ("HTTP " + xhr.status);
          error.hidden = false;
        }
      };
      xhr.onerror = function () {
        button.disabled = false;
        error.textContent = "network error";
        error.hidden = false;
      };
      xhr.send(new FormData(form));
    });
  }

  // New campaign: the election rules and their confirmation apply to 선거운동 only.
  var kind = document.getElementById("campaign-kind");
  var rules = document.getElementById("election-rules");
  if (kind && rules) {
    var confirmBox = document.getElementById("rules-confirmed");
    var sync = function () {
      var election = kind.value === "election";
      rules.hidden = !election;
      if (confirmBox) confirmBox.required = election;
    };
    kind.addEventListener("change", sync);
    sync();
  }

  // A running import job: poll its status, then reload to show the preview or result.
  var job = document.getElementById("job");
  if (job) {
    var box = job.querySelector(".progress");
    var poll = function () {
      fetch(job.dataset.status, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (s) {
          if (s.state === "running") {
            showProgress(box, s.fraction, s.stage_label);
            setTimeout(poll, 300);
          } else if (s.redirect) {
            window.location.href = s.redirect;
          } else {
            window.location.reload();
          }
        })
        .catch(function () { setTimeout(poll, 1000); });
    };
    poll();
  }
})();
