// Mobile ARS console: a big export's progress (the job page polls its status),
// then the download link. No inline script: the page loads this file.
(function () {
  "use strict";
  var box = document.getElementById("export-job");
  if (!box) return;
  var bar = box.querySelector("progress");
  var percent = box.querySelector(".percent");
  var done = box.querySelector(".done");
  var error = box.querySelector(".flash.error");
  var link = document.getElementById("export-download");
  var poll = function () {
    fetch(box.dataset.status, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (s) {
        if (s.state === "running") {
          if (bar) bar.value = s.fraction;
          if (percent) percent.textContent = Math.round(s.fraction * 100) + "%";
          setTimeout(poll, 500);
        } else if (s.state === "done") {
          if (bar) bar.value = 1;
          if (percent) percent.textContent = "100%";
          var label = box.querySelector(".label");
          if (label) label.textContent = box.dataset.doneLabel;
          link.href = s.download;
          done.hidden = false;
          window.location.href = s.download;
        } else {
          error.textContent = s.error || s.state;
          error.hidden = false;
        }
      })
      .catch(function () { setTimeout(poll, 1500); });
  };
  if (error.hidden) poll();   // also when the job was done before the page came: the download starts
})();
