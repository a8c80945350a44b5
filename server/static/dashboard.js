// Live dashboard: renders the state pushed on the /manager Socket.IO namespace.
// Only changed phone cells are touched, so 500 phones stay cheap to update.
(function () {
  "use strict";
  var i18n = JSON.parse(document.getElementById("dashboard-i18n").textContent);
  var phoneCells = {};

  function text(id, value) {
    var el = document.getElementById(id);
    if (el && el.textContent !== String(value)) el.textContent = value;
  }

  function fmt(n) { return n == null ? "–" : Number(n).toLocaleString(); }

  // The campaign's numbers: computed by the server (calling/counters.py), as the campaign page shows them.
  function renderCounters(c) {
    i18n.counters.forEach(function (k) {
      text("counter-" + k, c && c[k] != null ? fmt(c[k]) : "–");
    });
    var bar = document.getElementById("campaign-progress");
    if (c && c.target != null) {
      bar.max = Math.max(1, c.target);
      bar.value = c.done;
      text("campaign-progress-label", fill(i18n.progress, { done: fmt(c.done), target: fmt(c.target), percent: c.percent }));
    } else {
      bar.value = 0;
      text("campaign-progress-label", "");
    }
  }

  function renderAgents(agents) {
    var box = document.getElementById("agents");
    var form = document.getElementById("away-form");
    box.innerHTML = "";
    agents.forEach(function (a) {
      var card = document.createElement("div");
      card.className = "agent state-" + a.state;
      card.dataset.line = a.id;
      card.innerHTML = "<b></b><span class='name'></span><span class='st'></span> <button type='button'></button>";
      card.querySelector("b").textContent = a.extension;
      card.querySelector(".name").textContent = a.name;
      // Switched away during a call: still on it, away once it ends.
      var awayAfter = !!a.away_after_call && (a.state === "busy" || a.state === "ringing");
      if (awayAfter) card.className += " away-after-call";
      card.querySelector(".st").textContent = awayAfter ? i18n.away_after_call : (i18n.states[a.state] || a.state);
      var button = card.querySelector("button");
      var away = a.state === "away" || awayAfter;
      button.textContent = away ? i18n.back : i18n.away;
      button.addEventListener("click", function () {
        form.action = "/agents/" + a.id + "/away";
        form.elements.away.value = away ? "0" : "1";
        form.submit();
      });
      box.appendChild(card);
    });
  }

  function renderPhones(phones) {
    var grid = document.getElementById("phones");
    var online = 0;
    phones.forEach(function (p) {
      if (p.online) online++;
      var cell = phoneCells[p.id];
      if (!cell) {
        cell = document.createElement("div");
        cell.innerHTML = "<b></b><span class='st'></span><span class='bat'></span>";
        phoneCells[p.id] = cell;
        grid.appendChild(cell);
      }
      var key = [p.name, p.state, p.battery, p.charging, p.signal, p.mode, p.online, p.problem].join("|");
      if (cell.dataset.key === key) return;
      cell.dataset.key = key;
      cell.className = "phone state-" + p.state + (p.enabled ? "" : " disabled");
      cell.title = p.name + " · " + (i18n.modes[p.mode] || p.mode) + (p.network ? " · " + p.network : "") +
        (p.signal != null ? " · " + i18n.signal + " " + p.signal + "/4" : "") +
        (p.problem ? " · " + p.problem : "");
      cell.querySelector("b").textContent = p.name;
      cell.querySelector(".st").textContent = i18n.states[p.state] || p.state;
      cell.querySelector(".bat").textContent = p.battery == null ? "" : p.battery + "%" + (p.charging ? "⚡" : "");
    });
    text("phone-summary", i18n.online + " " + online + " / " + phones.length);
  }

  function renderRecent(recent) {
    var body = document.getElementById("recent");
    body.innerHTML = "";
    recent.forEach(function (r) {
      var tr = document.createElement("tr");
      [new Date(r.at * 1000).toLocaleTimeString(), r.phone, r.number,
       (i18n.results[r.result] || r.result) + (r.hung_up_in ? " (" + (i18n.hung_up_in[r.hung_up_in] || r.hung_up_in) + ")" : "")].forEach(function (v) {
        var td = document.createElement("td");
        td.textContent = v;
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
  }

  function show(id, visible) {
    var el = document.getElementById(id);
    if (el && el.hidden === !!visible) el.hidden = !visible;
  }

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (all, key) { return key in values ? values[key] : all; });
  }

  // Why nothing dials now: one line per reason, words from the page, facts from the server.
  function renderIdle(reasons) {
    var list = document.getElementById("campaign-idle");
    var key = JSON.stringify(reasons);
    if (list.dataset.key === key) return;
    list.dataset.key = key;
    list.innerHTML = "";
    reasons.forEach(function (r) {
      var li = document.createElement("li");
      li.dataset.code = r.code;
      li.textContent = fill(i18n.idle[r.code] || r.code, { count: fmt(r.count || 0), time: r.time || "–" });
      list.appendChild(li);
    });
    show("campaign-idle", reasons.length > 0);
  }

  // Campaign type, the election-hours rule, and why phones do not dial now.
  function renderCampaign(c) {
    text("campaign-name", c ? c.name : i18n.no_campaign);
    text("campaign-kind", c && c.kind ? (i18n.kinds[c.kind] || c.kind) : "");
    show("election-rule", !!(c && c.kind === "election"));
    renderIdle(c && c.idle ? c.idle : []);
  }

  // Disk space and database writes: calling stops until they recover.
  function renderStorage(s) {
    s = s || {};
    var low = !!s.low, error = !!s.error;
    text("storage-low", low ? fill(i18n.storage_low, {
      free: fmt(Math.floor(s.free_mb || 0)), min: fmt(Math.floor(s.min_free_mb || 0)) }) : "");
    text("storage-error", error ? fill(i18n.storage_error, { error: s.error }) : "");
    show("storage-low", low);
    show("storage-error", error);
    show("storage-warning", low || error);
  }

  function render(state) {
    renderStorage(state.storage);
    renderCampaign(state.campaign);
    renderCounters(state.counters);
    renderAgents(state.agents || []);
    renderPhones(state.phones || []);
    renderRecent(state.recent || []);
  }

  render(JSON.parse(document.getElementById("dashboard-state").textContent));
  var socket = io("/manager", { transports: ["websocket", "polling"] });
  socket.on("dashboard", render);
  // The server closes this socket when the console session ends (log-out in
  // another tab, password change, idle or 24 h expiry, allow-list change):
  // reloading shows the login page with the reason.
  socket.on("disconnect", function (reason) {
    if (reason === "io server disconnect") { window.location.reload(); }
  });
})();
