/* pam-proactive dashboard: draws the charts from the page's data, then refreshes it from the
   JSON endpoint every data-refresh seconds. Text goes in with textContent only. */
(function () {
  "use strict";
  var body = document.body;
  var SOURCE = body.dataset.source;
  var REFRESH_MS = Math.max(1, Number(body.dataset.refresh) || 10) * 1000;
  var LOCKED = body.dataset.locked === "1";
  // The operator token comes in the URL fragment (/#token=...): browsers never send the
  // fragment to the server, so it stays out of request lines and access logs.
  var TOKEN = new URLSearchParams(window.location.hash.slice(1)).get("token");
  var PALETTE = ["#1565c0", "#2e7d32", "#ef6c00", "#6a1b9a", "#00838f", "#c62828", "#558b2f",
                 "#4e342e", "#ad1457", "#283593", "#f9a825", "#37474f"];
  var PRIORITY = {critical: "#b71c1c", high: "#e65100", medium: "#f9a825", low: "#0277bd"};
  var OUTCOME = {ok: "#2e7d32", partial: "#f9a825", failed: "#c62828", running: "#1565c0",
                 skipped: "#90a4ae"};
  var charts = {};
  var state = {charts: charts, data: null, refreshes: 0};
  window.pamDashboard = state;

  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.font.size = 11;

  function draw(id, type, data, options) {
    var existing = charts[id];
    if (existing) {
      existing.data = data;
      existing.update("none");
      return;
    }
    charts[id] = new Chart(document.getElementById(id), {type: type, data: data,
      options: options || {}});
  }

  function stackedOptions() {
    return {scales: {x: {stacked: true}, y: {stacked: true, beginAtZero: true,
      ticks: {precision: 0}}}, plugins: {legend: {position: "bottom"}}};
  }

  function seriesData(section, colorOf) {
    var names = Object.keys(section.series);
    return {labels: section.labels, datasets: names.map(function (name, i) {
      return {label: name, data: section.series[name],
              backgroundColor: colorOf ? colorOf(name, i) : PALETTE[i % PALETTE.length]};
    })};
  }

  function shortTime(iso) {
    return iso ? iso.slice(5, 16).replace("T", " ") : "";
  }

  function jobsData(runs) {
    var labels = runs.map(function (r) { return shortTime(r.started_at); });
    var jobs = [];
    runs.forEach(function (r) { if (jobs.indexOf(r.job) < 0) { jobs.push(r.job); } });
    return {labels: labels, datasets: jobs.map(function (job, i) {
      return {label: job,
              data: runs.map(function (r) { return r.job === job ? r.seconds : null; }),
              backgroundColor: runs.map(function (r) { return OUTCOME[r.status] || "#90a4ae"; }),
              borderColor: PALETTE[i % PALETTE.length], borderWidth: 2, grouped: false};
    })};
  }

  function field(data, path) {
    return path.split(".").reduce(function (v, k) {
      return v === null || v === undefined ? undefined : v[k];
    }, data);
  }

  function fillFields(data) {
    document.querySelectorAll("[data-field]").forEach(function (el) {
      var value = field(data, el.dataset.field);
      if (value === undefined) { return; }
      if (el.dataset.format === "percent") { value = (100 * value).toFixed(1) + " %"; }
      el.textContent = String(value);
    });
    var db = document.querySelector('[data-field="health.database"]');
    db.className = "big " + (data.health.database === "reachable" ? "good" : "bad");
  }

  function fillTable(id, rows, cells) {
    var tbody = document.querySelector("#" + id + " tbody");
    var fresh = document.createElement("tbody");
    rows.forEach(function (row) {
      var tr = document.createElement("tr");
      cells(row).forEach(function (cell) {
        var td = document.createElement("td");
        td.textContent = String(cell[0]);
        if (cell[1]) { td.className = cell[1]; }
        tr.appendChild(td);
      });
      fresh.appendChild(tr);
    });
    tbody.replaceWith(fresh);
  }

  function render(data) {
    state.data = data;
    fillFields(data);
    var s = data.suggestions;
    draw("chart-types", "bar", seriesData(s.by_type), stackedOptions());
    draw("chart-priorities", "bar", seriesData(s.by_priority, function (name) {
      return PRIORITY[name] || "#90a4ae";
    }), stackedOptions());
    draw("chart-jobs", "bar", jobsData(data.jobs.runs), {scales: {y: {beginAtZero: true}},
      plugins: {legend: {position: "bottom"}}});
    document.getElementById("jobs-note").textContent = data.jobs.available
      ? "(" + data.jobs.runs.length + " runs)" : "(no job_runs table yet)";
    var st = data.health.statements;
    draw("chart-queries", "bar", {labels: st.labels, datasets: [
      {label: "mean ms", data: st.mean_ms, backgroundColor: "#1565c0"},
      {label: "p95 ms", data: st.p95_ms, backgroundColor: "#90caf9"}]},
      {indexAxis: "y", scales: {y: {ticks: {autoSkip: false}}},
       plugins: {legend: {position: "bottom"}}});
    var c = data.health.cache;
    draw("chart-cache", "doughnut", {labels: ["hits", "misses", "evictions"], datasets: [{
      data: [c.hits, c.misses, c.evictions],
      backgroundColor: ["#2e7d32", "#ef6c00", "#6d4c41"]}]},
      {plugins: {legend: {position: "right"}}});
    var history = data.fleet.history;
    draw("chart-fleet", "line", {labels: history.map(function (h) {
      return shortTime(h.computed_for); }), datasets: [
      {label: "critical", data: history.map(function (h) { return h.critical; }),
       borderColor: "#c62828", backgroundColor: "#c62828"},
      {label: "vehicles", data: history.map(function (h) { return h.vehicles; }),
       borderColor: "#90a4ae", backgroundColor: "#90a4ae", borderDash: [4, 3], yAxisID: "y1"}]},
      {scales: {y: {beginAtZero: true, ticks: {precision: 0},
                    title: {display: true, text: "critical"}},
                y1: {position: "right", beginAtZero: true, ticks: {precision: 0},
                     grid: {drawOnChartArea: false}, title: {display: true, text: "vehicles"}}},
       plugins: {legend: {position: "bottom"}}});
    document.getElementById("fleet-note").textContent = data.fleet.available
      ? "" : "(no fleet reports yet)";
    fillTable("recent", s.recent, function (r) {
      return [[r.user], [r.type], [r.priority, "p-" + r.priority], [r.status],
              [shortTime(r.updated_at)]];
    });
    fillTable("critical", data.fleet.critical, function (v) {
      return [[v.user], [v.score], [v.findings]];
    });
    var rel = data.relevance;
    var lines = seriesData(rel.weeks);
    lines.datasets.forEach(function (d) { d.borderColor = d.backgroundColor; });
    draw("chart-relevance", "line", lines, {spanGaps: true,
      scales: {y: {min: 0, max: 1, ticks: {format: {style: "percent"}}}},
      plugins: {legend: {position: "bottom"}}});
    fillTable("relevance", rel.types, function (t) {
      return [[t.type], [t.delivered], [t.answered], [t.relevance], [t.wrong_rate]];
    });
  }

  function setStatus(text, offline) {
    var el = document.getElementById("status");
    el.textContent = text;
    el.className = offline ? "status offline" : "status";
  }

  function showAuthMessage(text) {
    var el = document.getElementById("auth-message");
    el.textContent = text;
    el.hidden = !text;
    state.authMessage = text;
  }

  function refresh() {
    var headers = {Accept: "application/json"};
    if (TOKEN) { headers.Authorization = "Bearer " + TOKEN; }
    fetch(SOURCE, {cache: "no-store", headers: headers})
      .then(function (response) {
        if (response.status === 401 || response.status === 403) {
          showAuthMessage(TOKEN
            ? "The token in the address is not the operator token (PAM_API_TOKEN): open "
              + "this page as /#token=<PAM_API_TOKEN>."
            : "This dashboard needs the operator token: open it as /#token=<PAM_API_TOKEN> "
              + "(the part after # is never sent to the server).");
          throw new Error("HTTP " + response.status + ": operator token needed");
        }
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (data) {
        showAuthMessage("");
        render(data);
        state.refreshes += 1;
        setStatus("live, updated " + shortTime(new Date().toISOString()) + " UTC", false);
      })
      .catch(function (err) { setStatus("not updating: " + err.message, true); });
  }

  render(JSON.parse(document.getElementById("initial-data").textContent));
  if (LOCKED) { refresh(); }
  window.setInterval(refresh, REFRESH_MS);
})();
