/* pam-proactive dashboard: draws the charts and tables from the page's data, then refreshes it
   from the JSON endpoint every data-refresh seconds. Text goes in with textContent only.
   Times are shown in UTC and say so; user ids are shown whole (a prefix of a time-ordered id
   is a timestamp that many travelers share); lists say how many rows they hold and page
   through them on the server (?recent_offset=, ?critical_offset=). */
(function () {
  "use strict";
  var body = document.body;
  var SOURCE = body.dataset.source;
  var REFRESH_MS = Math.max(1, Number(body.dataset.refresh) || 10) * 1000;
  var LOCKED = body.dataset.locked === "1";
  var MAX_OFFSET = Number(body.dataset.maxOffset);
  // The operator token comes in the URL fragment (/#token=...): browsers never send the
  // fragment to the server, so it stays out of request lines and access logs.
  var TOKEN = new URLSearchParams(window.location.hash.slice(1)).get("token");
  var SIGN_IN = "Sign in with the operator token to see engine health, jobs and suggestions: "
    + "open this page as /#token=<PAM_API_TOKEN> (the part after # is never sent to the "
    + "server).";
  var WRONG_TOKEN = "The token in the address is not the operator token (PAM_API_TOKEN): open "
    + "this page as /#token=<PAM_API_TOKEN>.";
  var SIGNED_OUT = "\u2014";
  var PALETTE = ["#1565c0", "#2e7d32", "#ef6c00", "#6a1b9a", "#00838f", "#c62828", "#558b2f",
                 "#4e342e", "#ad1457", "#283593", "#f9a825", "#37474f"];
  // Job outlines: none of the outcome fills' colours, so the two never read alike.
  var OUTLINES = ["#283593", "#6a1b9a", "#00838f", "#4e342e", "#ad1457", "#37474f"];
  var PRIORITY = {critical: "#b71c1c", high: "#e65100", medium: "#f9a825", low: "#0277bd"};
  var OUTCOME = {ok: "#2e7d32", partial: "#f9a825", failed: "#c62828", running: "#1565c0",
                 skipped: "#90a4ae"};
  var charts = {};
  var state = {charts: charts, data: null, refreshes: 0, authMessage: "",
               offsets: {recent: 0, critical: 0}};
  // Fetches are numbered: an answer older than the one on screen, or sent before the reader
  // last turned a page, is dropped; a timed refresh waits while a fetch is still out (a slow
  // database must not pile them up).
  var requested = 0;
  var rendered = 0;
  var floor = 0;
  var inFlight = 0;
  window.pamDashboard = state;

  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.font.size = 11;

  // Signed out: a locked page that has not had its data yet shows no figure at all.
  function signedOut() { return LOCKED && state.refreshes === 0; }

  /* Why a chart or list is empty when that does not mean "nothing yet", else null. */
  function notRead(what) {
    if (signedOut()) { return "Sign in with the operator token to see this " + what + "."; }
    if (state.data && state.data.health.database !== "reachable") {
      return "Not read: the database is unreachable.";
    }
    return null;
  }

  /* "2026-11-25 18:00 UTC" for an ISO 8601 time with any offset. */
  function utcTime(iso) {
    return iso ? new Date(iso).toISOString().slice(0, 16).replace("T", " ") + " UTC" : "";
  }

  /* Axis labels for distinct instants (the axis title states UTC): "11-25 13:00", with seconds
     (then milliseconds) only when two instants would otherwise read alike. */
  function instantLabels(isos) {
    var stamps = isos.map(function (iso) { return new Date(iso).toISOString(); });
    var ends = [16, 19, 23];
    for (var i = 0; i < ends.length; i += 1) {
      var labels = stamps.map(function (s) { return s.slice(5, ends[i]).replace("T", " "); });
      if (new Set(labels).size === labels.length) { return labels; }
    }
    return stamps;
  }

  function axisTitle(text) { return {display: true, text: text}; }

  function draw(id, type, data, options) {
    var existing = charts[id];
    if (existing) {
      existing.data = data;
      existing.update("none");
    } else {
      charts[id] = new Chart(document.getElementById(id), {type: type, data: data,
        options: options || {}});
    }
    var canvas = document.getElementById(id);
    var empty = canvas.parentElement.querySelector(".empty");
    var blank = data.labels.length === 0 || data.datasets.every(function (d) {
      return d.data.every(function (v) { return !v; });
    });
    empty.textContent = notRead("chart") || canvas.closest("figure").dataset.empty;
    empty.hidden = !blank;
    // Empty axes (0 to 1) would read as a measured zero: show the words alone.
    canvas.style.visibility = blank ? "hidden" : "";
  }

  function stackedOptions(xTitle) {
    return {scales: {x: {stacked: true, title: axisTitle(xTitle)},
                     y: {stacked: true, beginAtZero: true, ticks: {precision: 0},
                         title: axisTitle("suggestions")}},
            plugins: {legend: {position: "bottom"}}};
  }

  function seriesData(section, colorOf) {
    var names = Object.keys(section.series);
    return {labels: section.labels, datasets: names.map(function (name, i) {
      return {label: name, data: section.series[name],
              backgroundColor: colorOf ? colorOf(name, i) : PALETTE[i % PALETTE.length]};
    })};
  }

  /* One category per distinct start instant; one dataset per job (outline colour), each bar
     filled with its run's outcome. */
  function jobsData(runs) {
    var instants = [];
    var jobs = [];
    runs.forEach(function (r) {
      if (instants.indexOf(r.started_at) < 0) { instants.push(r.started_at); }
      if (jobs.indexOf(r.job) < 0) { jobs.push(r.job); }
    });
    return {labels: instantLabels(instants), datasets: jobs.map(function (job, i) {
      var values = instants.map(function () { return null; });
      var fills = instants.map(function () { return OUTCOME.skipped; });
      runs.forEach(function (r) {
        if (r.job !== job) { return; }
        var at = instants.indexOf(r.started_at);
        values[at] = r.seconds;
        fills[at] = OUTCOME[r.status] || OUTCOME.skipped;
      });
      return {label: job, data: values, backgroundColor: fills,
              borderColor: OUTLINES[i % OUTLINES.length], borderWidth: 2, skipNull: true};
    })};
  }

  function swatch(item) {
    var li = document.createElement("li");
    var box = document.createElement("span");
    box.className = "swatch";
    box.style.background = item.fill || "transparent";
    box.style.borderColor = item.outline || item.fill;
    li.appendChild(box);
    li.appendChild(document.createTextNode(item.label));
    li.dataset.kind = item.kind;
    return li;
  }

  /* The jobs chart's legend, beside it rather than in its title: outlines name the jobs,
     fills the outcomes present. */
  function jobsLegend(runs, chartData) {
    var list = document.getElementById("legend-jobs");
    var items = chartData.datasets.map(function (d) {
      return {label: d.label, outline: d.borderColor, kind: "job"};
    });
    Object.keys(OUTCOME).forEach(function (status) {
      if (runs.some(function (r) { return r.status === status; })) {
        items.push({label: status, fill: OUTCOME[status], kind: "outcome"});
      }
    });
    list.replaceChildren.apply(list, items.map(swatch));
  }

  function field(data, path) {
    return path.split(".").reduce(function (v, k) {
      return v === null || v === undefined ? undefined : v[k];
    }, data);
  }

  function fillFields(data) {
    var out = signedOut();
    document.querySelectorAll("[data-field]").forEach(function (el) {
      var value = field(data, el.dataset.field);
      if (value === undefined) { return; }
      if (el.dataset.format === "percent") { value = (100 * value).toFixed(1) + " %"; }
      el.textContent = out ? SIGNED_OUT : String(value);
    });
    var db = document.querySelector('[data-field="health.database"]');
    db.className = "big " + (out ? "neutral"
      : data.health.database === "reachable" ? "good" : "bad");
    var asOf = document.getElementById("generated-at");
    asOf.dateTime = data.generated_at;
    asOf.textContent = utcTime(data.generated_at);
    asOf.parentElement.hidden = out;
  }

  /* Rows of cells: [text, css class, kind]; kind "id" shows the text as a whole, selectable
     id. An empty table says why it is empty in one row. */
  function fillTable(id, rows, cells) {
    var table = document.getElementById(id);
    var fresh = document.createElement("tbody");
    rows.forEach(function (row) {
      var tr = document.createElement("tr");
      cells(row).forEach(function (cell) {
        var td = document.createElement("td");
        if (cell[2] === "id") {
          var code = document.createElement("code");
          code.className = "uid";
          code.title = "click to select the whole id";
          code.textContent = String(cell[0]);
          td.appendChild(code);
        } else {
          td.textContent = String(cell[0]);
        }
        if (cell[1]) { td.className = cell[1]; }
        tr.appendChild(td);
      });
      fresh.appendChild(tr);
    });
    if (rows.length === 0) {
      var tr = document.createElement("tr");
      var td = document.createElement("td");
      td.colSpan = table.querySelectorAll("thead th").length;
      td.className = "empty-row";
      td.textContent = notRead("list") || table.dataset.empty;
      tr.appendChild(td);
      fresh.appendChild(tr);
    }
    table.querySelector("tbody").replaceWith(fresh);
  }

  /* "21–40 of 52" under a paged list, and its buttons enabled where there is a page. */
  function fillPager(name, page) {
    var nav = document.querySelector('.pager[data-list="' + name + '"]');
    var first = page.offset + 1;
    var last = page.offset + page.items.length;
    state.offsets[name] = page.offset;
    nav.querySelector(".count").textContent = notRead("list") ? ""
      : page.items.length ? first + "\u2013" + last + " of " + page.total
      : page.total ? "none past row " + page.offset + " of " + page.total
      : "0 of 0";
    nav.querySelector('[data-step="-1"]').disabled = page.offset === 0;
    nav.querySelector('[data-step="1"]').disabled = page.offset + page.limit >= page.total
      || page.offset + page.limit > MAX_OFFSET;
    nav.dataset.limit = page.limit;
    if (!page.items.length && page.total && page.offset) {  // the list shrank: its last page
      state.offsets[name] = Math.min(MAX_OFFSET,
                                     Math.floor((page.total - 1) / page.limit) * page.limit);
      refresh(true);
    }
  }

  function render(data) {
    state.data = data;
    fillFields(data);
    var s = data.suggestions;
    draw("chart-types", "bar", seriesData(s.by_type), stackedOptions("day (UTC)"));
    draw("chart-priorities", "bar", seriesData(s.by_priority, function (name) {
      return PRIORITY[name] || "#90a4ae";
    }), stackedOptions("day (UTC)"));
    var runs = jobsData(data.jobs.runs);
    draw("chart-jobs", "bar", runs, {scales: {
      x: {title: axisTitle("started (UTC)")},
      y: {beginAtZero: true, title: axisTitle("seconds")}},
      plugins: {legend: {display: false}}});
    jobsLegend(data.jobs.runs, runs);
    document.getElementById("jobs-count").textContent = signedOut() || !data.jobs.runs.length
      ? "" : "(newest " + data.jobs.runs.length + " of " + data.jobs.total
        + " runs in the last " + data.jobs.days + " days)";
    var st = data.health.statements;
    draw("chart-queries", "bar", {labels: st.labels, datasets: [
      {label: "mean ms", data: st.mean_ms, backgroundColor: "#1565c0"},
      {label: "p95 ms", data: st.p95_ms, backgroundColor: "#90caf9"}]},
      {indexAxis: "y", scales: {y: {ticks: {autoSkip: false}}, x: {title: axisTitle("ms")}},
       plugins: {legend: {position: "bottom"}}});
    var c = data.health.cache;
    draw("chart-cache", "doughnut", {labels: ["hits", "misses", "evictions"], datasets: [{
      data: [c.hits, c.misses, c.evictions],
      backgroundColor: ["#2e7d32", "#ef6c00", "#6d4c41"]}]},
      {plugins: {legend: {position: "right"}}});
    var history = data.fleet.history;
    draw("chart-fleet", "line", {labels: instantLabels(history.map(function (h) {
      return h.computed_for; })), datasets: [
      {label: "critical", data: history.map(function (h) { return h.critical; }),
       borderColor: "#c62828", backgroundColor: "#c62828"},
      {label: "vehicles", data: history.map(function (h) { return h.vehicles; }),
       borderColor: "#90a4ae", backgroundColor: "#90a4ae", borderDash: [4, 3], yAxisID: "y1"}]},
      {scales: {x: {title: axisTitle("report computed for (UTC)")},
                y: {beginAtZero: true, ticks: {precision: 0}, title: axisTitle("critical")},
                y1: {position: "right", beginAtZero: true, ticks: {precision: 0},
                     grid: {drawOnChartArea: false}, title: axisTitle("vehicles")}},
       plugins: {legend: {position: "bottom"}}});
    fillTable("recent", s.recent.items, function (r) {
      return [[r.user, "", "id"], [r.type], [r.priority, "p-" + r.priority], [r.status],
              [utcTime(r.updated_at), "time"]];
    });
    fillPager("recent", s.recent);
    fillTable("critical", data.fleet.critical.items, function (v) {
      return [[v.user, "", "id"], [v.score], [v.findings]];
    });
    fillPager("critical", data.fleet.critical);
    var rel = data.relevance;
    var lines = seriesData(rel.weeks);
    lines.datasets.forEach(function (d) { d.borderColor = d.backgroundColor; });
    draw("chart-relevance", "line", lines, {spanGaps: true,
      scales: {x: {title: axisTitle("ISO week")},
               y: {min: 0, max: 1, ticks: {format: {style: "percent"}}}},
      plugins: {legend: {position: "bottom"}}});
    document.getElementById("relevance-target").textContent =
      Math.round(100 * rel.target) + " %";
    fillTable("relevance", rel.types, function (t) {
      return [[t.type], [t.delivered], [t.answered], [t.relevance], [t.wrong_rate]];
    });
    document.getElementById("relevance-count").textContent = notRead("list") ? ""
      : rel.types.length + " of " + rel.types.length + " types";
  }

  function setStatus(text, offline) {
    var el = document.getElementById("status");
    el.textContent = text;
    el.className = offline ? "status offline" : "status";
  }

  /* kind "note": what to do next (neutral); "warning": something is wrong. */
  function showAuthMessage(text, kind) {
    var el = document.getElementById("auth-message");
    el.textContent = text;
    el.hidden = !text;
    el.className = "auth-message " + (kind || "note");
    state.authMessage = text;
  }

  function refresh(force) {
    if (inFlight && force !== true) { return; }
    var headers = {Accept: "application/json"};
    if (TOKEN) { headers.Authorization = "Bearer " + TOKEN; }
    var query = "?recent_offset=" + state.offsets.recent
      + "&critical_offset=" + state.offsets.critical;
    var sent = requested += 1;
    if (force === true) { floor = sent; }
    inFlight += 1;
    fetch(SOURCE + query, {cache: "no-store", headers: headers})
      .then(function (response) {
        if (response.status === 401 || response.status === 403) {
          if (TOKEN) {
            showAuthMessage(WRONG_TOKEN, "warning");
            throw new Error("HTTP " + response.status + ": not the operator token");
          }
          showAuthMessage(SIGN_IN, "note");
          setStatus("signed out", false);
          return null;
        }
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (data) {
        if (data === null || sent < floor || sent < rendered) { return; }
        rendered = sent;
        showAuthMessage("");
        state.refreshes += 1;
        render(data);
        setStatus("live, refreshed " + new Date().toISOString().slice(11, 19) + " UTC", false);
      })
      .catch(function (err) { setStatus("not updating: " + err.message, true); })
      .finally(function () { inFlight -= 1; });
  }

  document.querySelectorAll(".pager button").forEach(function (button) {
    button.addEventListener("click", function () {
      var nav = button.closest(".pager");
      var name = nav.dataset.list;
      var step = Number(button.dataset.step) * Number(nav.dataset.limit);
      state.offsets[name] = Math.max(0, state.offsets[name] + step);
      refresh(true);
    });
  });

  render(JSON.parse(document.getElementById("initial-data").textContent));
  if (LOCKED && !TOKEN) { showAuthMessage(SIGN_IN, "note"); }
  if (LOCKED) { refresh(); }
  window.setInterval(refresh, REFRESH_MS);
})();
