// New campaign: how many voters of the chosen call list are left out as
// reached in earlier campaigns, asked of the server whenever the choice changes.
(function () {
  "use strict";
  var box = document.getElementById("exclude-reached");
  var form = document.getElementById("campaign-create");
  if (!box || !form) return;
  var i18n = JSON.parse(document.getElementById("campaigns-i18n").textContent);
  var out = document.getElementById("exclusion-preview");

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (all, key) { return key in values ? values[key] : all; });
  }

  function fmt(n) { return Number(n).toLocaleString(); }

  function update() {
    var list = form.elements.list_id ? form.elements.list_id.value : "";
    if (!list) { out.textContent = ""; return; }
    var query = new URLSearchParams({ list_id: list });
    if (document.getElementById("exclude-reached-on").checked) {
      box.querySelectorAll("input[name=reached]:checked").forEach(function (c) { query.append("reached", c.value); });
    }
    fetch(box.dataset.preview + "?" + query.toString(), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (p) {
        out.textContent = p.error ? p.error : fill(i18n.preview, { list: fmt(p.list), excluded: fmt(p.excluded), to_call: fmt(p.to_call) });
      });
  }

  form.addEventListener("change", function (e) {
    if (e.target.name === "list_id" || e.target.name === "reached" || e.target.name === "exclude_reached") update();
  });
})();
