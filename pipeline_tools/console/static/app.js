/* The local pipeline console: a run list, a run page (graph, states, logs, trace), metrics.
 * Data: the JSON API next to this page (api/…), which calls the same Python functions as
 * `python -m local_aws runs`. Libraries: cytoscape + cytoscape-dagre (graph), Chart.js (metrics),
 * served from node_modules. No build step, no framework. */
(function () {
  "use strict";

  const OUTCOMES = ["saved", "duplicate", "quarantined", "left-for-pipe", "failed", "not-run", "running"];
  const STATUSES = ["SUCCEEDED", "FAILED", "RUNNING", "NOT_RUN"];
  const ERROR_METRICS = ["InvalidMessages", "DynamoDBCheckError", "DynamoDBSaveError", "SQSGetURLError", "SQSDeleteError"];
  const app = document.getElementById("app");
  let timer = null;
  let charts = [];
  window.consoleState = { graph: null, run: null, loaded: false };

  // ------------------------------------------------------------------ helpers
  function esc(value) {
    return String(value === null || value === undefined ? "" : value)
      .replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;").replace(/'/g, "&#39;");
  }
  function ms(value) {
    if (value === null || value === undefined) return "–";
    if (value >= 1000) return (value / 1000).toFixed(2) + " s";
    return value.toFixed(value < 10 ? 1 : 0) + " ms";
  }
  function clock(epoch, withDate) {
    if (!epoch) return "–";
    const iso = new Date(epoch * 1000).toISOString();
    return withDate ? iso.replace("T", " ").replace("Z", " UTC") : iso.slice(11, 23);
  }
  function badge(text, cls) {
    return `<span class="badge ${esc(cls || text)}">${esc(text)}</span>`;
  }
  function pretty(text) {
    if (text === null || text === undefined) return "";
    try { return JSON.stringify(JSON.parse(text), null, 2); } catch (e) { return String(text); }
  }
  function short(fn) {
    // CloudFormation-style names: <stack>-<LogicalId>-<SUFFIX> → LogicalId
    const m = /-([A-Za-z0-9]+)-[A-Z0-9]{8,}$/.exec(fn || "");
    return m ? m[1] : fn;
  }
  async function api(path) {
    const response = await fetch("api/" + path, { cache: "no-store" });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(data.error || response.statusText);
    return data;
  }
  function stopTimer() { if (timer) { clearInterval(timer); timer = null; } }
  function destroyCharts() { charts.forEach((c) => c.destroy()); charts = []; }
  function setNav(which) {
    document.getElementById("nav-runs").classList.toggle("active", which === "runs");
    document.getElementById("nav-metrics").classList.toggle("active", which === "metrics");
  }
  function showBanner(text) {
    const el = document.getElementById("banner");
    el.textContent = text || "";
    el.hidden = !text;
  }
  function causeHtml(cause, id) {
    // A Lambda error's cause is its JSON error object: show the message, then the stack trace.
    let data = null;
    try { data = JSON.parse(cause); } catch (e) { /* plain text */ }
    const attr = id ? ` id="${id}"` : "";
    if (data && typeof data === "object" && data.errorMessage !== undefined) {
      const stack = (data.stackTrace || []).join("");
      return `<div class="error-message"${attr}>${esc(data.errorType ? data.errorType + ": " : "")}${esc(data.errorMessage)}</div>
        ${stack ? `<details><summary>stack trace</summary><pre>${esc(stack)}</pre></details>` : ""}`;
    }
    return `<pre${attr}>${esc(pretty(cause))}</pre>`;
  }
  function runLink(id) { return "#/run/" + encodeURIComponent(id); }

  // ------------------------------------------------------------------ router
  function route() {
    stopTimer();
    destroyCharts();
    window.consoleState.loaded = false;
    const hash = location.hash || "#/runs";
    const [path, query] = hash.slice(1).split("?");
    const params = new URLSearchParams(query || "");
    if (path.startsWith("/run/")) {
      setNav("runs");
      renderRun(decodeURIComponent(path.slice(5)));
    } else if (path.startsWith("/metrics")) {
      setNav("metrics");
      renderMetrics(params);
    } else {
      setNav("runs");
      renderRuns(params);
    }
  }
  window.addEventListener("hashchange", route);

  // ------------------------------------------------------------------ run list
  function renderRuns(params) {
    const opt = (values, current) => ['<option value="">any</option>']
      .concat(values.map((v) => `<option ${v === current ? "selected" : ""}>${esc(v)}</option>`)).join("");
    app.innerHTML = `
      <h1>Runs</h1>
      <section class="panel">
        <form class="filters" id="filters">
          <label>Outcome<select name="outcome" id="f-outcome">${opt(OUTCOMES, params.get("outcome"))}</select></label>
          <label>Status<select name="status" id="f-status">${opt(STATUSES, params.get("status"))}</select></label>
          <label>Message group<input name="group" id="f-group" placeholder="any" value="${esc(params.get("group") || "")}"></label>
          <label>Show<select name="limit" id="f-limit">${[25, 50, 100, 500].map((n) =>
            `<option ${String(n) === (params.get("limit") || "100") ? "selected" : ""}>${n}</option>`).join("")}</select></label>
          <button type="submit" class="primary">Apply</button>
          <label class="check"><input type="checkbox" id="auto" ${params.get("auto") === "0" ? "" : "checked"}> auto-refresh</label>
        </form>
        <div class="panel-head"><h2>Message runs <span class="count" id="runs-count"></span></h2>
          <span class="muted small">one row per message per execution · newest first</span></div>
        <table class="grid" id="runs-table">
          <thead><tr><th>Started (UTC)</th><th>Message ID</th><th>Group</th><th>Status</th><th>Outcome</th>
            <th>Reason</th><th>Duration</th><th>Receive #</th><th>Execution</th></tr></thead>
          <tbody><tr><td colspan="9" class="empty">loading…</td></tr></tbody>
        </table>
      </section>`;
    const form = document.getElementById("filters");
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const data = new URLSearchParams();
      for (const [key, value] of new FormData(form).entries()) if (value) data.set(key, value);
      if (!document.getElementById("auto").checked) data.set("auto", "0");
      location.hash = "#/runs?" + data.toString();
    });
    form.querySelectorAll("select").forEach((el) => el.addEventListener("change", () => form.requestSubmit()));
    const load = async () => {
      const query = new URLSearchParams();
      for (const key of ["outcome", "status", "group", "limit"]) if (params.get(key)) query.set(key, params.get(key));
      try {
        const data = await api("runs?" + query.toString());
        showBanner("");
        fillRuns(data.runs);
      } catch (error) {
        showBanner("Could not read runs: " + error.message);
      }
    };
    load();
    timer = setInterval(() => { if (document.getElementById("auto")?.checked) load(); }, 3000);
  }

  function fillRuns(runs) {
    const body = document.querySelector("#runs-table tbody");
    if (!body) return;
    document.getElementById("runs-count").textContent = `(${runs.length})`;
    if (!runs.length) {
      body.innerHTML = '<tr><td colspan="9" class="empty">No runs yet. Send a message to the queue (see the output of <code>make up</code>).</td></tr>';
      window.consoleState.loaded = true;
      return;
    }
    body.innerHTML = runs.map((run) => `
      <tr class="run-row clickable" data-run-id="${esc(run.run_id)}" data-outcome="${esc(run.outcome)}" data-status="${esc(run.status)}">
        <td class="nowrap mono">${esc(clock(run.started))}</td>
        <td class="mono"><a href="${runLink(run.run_id)}">${esc(run.message_id || run.sqs_message_id)}</a>
          ${run.message_id ? "" : '<div class="muted small">SQS id (no message_id in the body)</div>'}</td>
        <td>${esc(run.group || "–")}</td>
        <td class="status">${badge(run.status)}</td>
        <td class="outcome">${badge(run.outcome)}</td>
        <td class="small">${esc(run.reason || "")}</td>
        <td class="num">${ms(run.duration_ms)}</td>
        <td class="num">${esc(run.receive_count || "–")}</td>
        <td class="mono small">${esc(run.execution_name)}${run.batch_size > 1 ? " / " + (run.index + 1) + " of " + run.batch_size : ""}</td>
      </tr>`).join("");
    body.querySelectorAll("tr.run-row").forEach((tr) => tr.addEventListener("click", (event) => {
      if (event.target.tagName !== "A") location.hash = runLink(tr.dataset.runId);
    }));
    window.consoleState.loaded = true;
  }

  // ------------------------------------------------------------------ one run
  async function renderRun(key) {
    app.innerHTML = `<div class="crumbs"><a href="#/runs">Runs</a> › ${esc(key)}</div><h1>Run</h1><div class="empty">loading…</div>`;
    let data;
    try {
      data = await api("run?full=1&id=" + encodeURIComponent(key));
      showBanner("");
    } catch (error) {
      app.innerHTML = `<div class="crumbs"><a href="#/runs">Runs</a> › ${esc(key)}</div>
        <h1>Run not found</h1><section class="panel"><p>${esc(error.message)}</p></section>`;
      return;
    }
    const runs = data.runs;
    const detail = runs[runs.length - 1];  // the latest run of this key
    drawRun(key, detail, runs);
  }

  function drawRun(key, detail, all) {
    const run = detail.run;
    window.consoleState.run = detail;
    const switcher = all.length > 1 ? `<div class="run-switch"><span class="muted">${all.length} runs match ${esc(key)}:</span>
      ${all.map((d) => `<a href="${runLink(d.run.run_id)}" class="${d === detail ? "current" : ""}">
        ${esc(clock(d.run.started))} · ${esc(d.run.outcome)}</a>`).join("")}</div>` : "";
    const errorBox = detail.error ? `<div class="error-box" id="run-error">
        <div class="error-name">Failed: <span id="run-error-name">${esc(detail.error)}</span></div>
        ${causeHtml(detail.cause, "run-error-cause")}</div>` : "";
    const kv = (k, v, id) => `<div class="kv"><div class="k">${k}</div><div class="v" ${id ? `id="${id}"` : ""}>${v}</div></div>`;
    app.innerHTML = `
      <div class="crumbs"><a href="#/runs">Runs</a> › ${esc(run.message_id || run.sqs_message_id)}</div>
      <h1>${esc(run.message_id || run.sqs_message_id)} ${badge(run.status)} ${badge(run.outcome)}</h1>
      ${switcher}
      ${errorBox}
      <section class="panel"><div class="summary" id="run-summary">
        ${kv("Outcome", badge(run.outcome) + (run.reason ? ` <span class="small">${esc(run.reason)}</span>` : ""), "run-outcome")}
        ${kv("Status", badge(run.status), "run-status")}
        ${kv("Duration", ms(run.duration_ms))}
        ${kv("Started", esc(clock(run.started, true)))}
        ${kv("Message group", esc(run.group || "–"))}
        ${kv("SQS message ID", `<span class="mono">${esc(run.sqs_message_id)}</span>`)}
        ${kv("Receive count", esc(run.receive_count || "–"))}
        ${kv("Execution", `<span class="mono small">${esc(run.execution_name)}</span> ${badge(run.execution_status)}`)}
        ${kv("Record in batch", `${run.index + 1} of ${run.batch_size}`)}
        ${kv("X-Ray trace", `<span class="mono small">${esc(detail.trace_id || "–")}</span>`)}
      </div></section>
      <div class="split">
        <section class="panel">
          <div class="panel-head"><h2>Graph view</h2><span class="muted small">click a state for its input, output and errors</span></div>
          <div id="graph"></div>
          <div class="legend"><span><i class="l-ok"></i>Succeeded</span><span><i class="l-caught"></i>Caught error</span>
            <span><i class="l-bad"></i>Failed</span><span><i class="l-none"></i>Not taken</span>
            <span>dashed edge: Catch</span></div>
        </section>
        <section class="panel state-panel" id="state-panel"></section>
      </div>
      <section class="panel"><h2>Timeline <span class="count">(${detail.steps.length} states)</span></h2>${timelineTable(detail)}</section>
      <section class="panel"><h2>Metrics emitted <span class="count">(${detail.metrics.length})</span></h2>${metricsTable(detail.metrics)}</section>
      <section class="panel"><h2>Lambda logs <span class="count">(${detail.logs.length} lines, by trace_id)</span></h2>${logsTable(detail.logs)}</section>
      <section class="panel"><h2>X-Ray trace <span class="count mono">${esc(detail.trace_id || "")}</span></h2>${traceTable(detail.trace)}</section>`;
    app.querySelectorAll("[data-state]").forEach((el) => el.addEventListener("click", () => selectState(el.dataset.state)));
    drawGraph(detail);
    const failing = [...detail.steps].reverse().find((s) => s.status === "FAILED" || s.status === "CAUGHT");
    const last = detail.steps[detail.steps.length - 1];
    selectState((failing || last || {}).name);
    window.consoleState.loaded = true;
  }

  function selectState(name) {
    const detail = window.consoleState.run;
    const panel = document.getElementById("state-panel");
    if (!detail || !panel) return;
    const step = detail.steps.find((s) => s.name === name);
    const cy = window.consoleState.graph;
    if (cy) { cy.nodes().removeClass("selected"); if (name) cy.getElementById(name).addClass("selected"); }
    if (!step) {
      panel.innerHTML = `<h3>${esc(name || "No state")}</h3><div class="meta">${name ? "This state was not taken by this run." : ""}</div>`;
      return;
    }
    const attempts = step.attempts.length ? `<h4>Attempts (${step.attempts.length}${step.retries ? ", " + step.retries + " retr" + (step.retries === 1 ? "y" : "ies") : ""})</h4>
      <table class="grid attempts"><thead><tr><th>#</th><th>Resource</th><th>Duration</th><th>Result</th></tr></thead><tbody>
      ${step.attempts.map((a, i) => `<tr><td>${i + 1}</td><td class="mono small">${esc(a.resource || "")}</td>
        <td class="num">${ms(a.duration_ms)}</td><td>${badge(a.status)} ${esc(a.error || "")}</td></tr>`).join("")}
      </tbody></table>` : "";
    const error = step.error ? `<h4>${step.status === "CAUGHT" ? "Caught error → " + esc(step.next || "") : "Error"}</h4>
      <div class="error-box" id="state-error"><div class="error-name">${esc(step.error)}</div>${causeHtml(step.cause)}</div>` : "";
    panel.innerHTML = `
      <h3 id="state-name">${esc(step.name)}</h3>
      <div class="meta">${esc(step.type)} state · ${badge(step.status)} · ${ms(step.duration_ms)}
        ${step.next ? " · next: <b>" + esc(step.next) + "</b>" : ""}</div>
      ${error}${attempts}
      <h4>Input</h4><pre class="json" id="state-input">${esc(pretty(step.input))}</pre>
      <h4>Output</h4><pre class="json" id="state-output">${esc(pretty(step.output)) || '<span class="muted">(none)</span>'}</pre>`;
  }

  function timelineTable(detail) {
    if (!detail.steps.length) return '<div class="empty">This record was not processed in this execution.</div>';
    const start = detail.run.started;
    const span = Math.max(1, ...detail.steps.map((s) => ((s.exited || s.entered) - start) * 1000));
    return `<table class="grid"><thead><tr><th>State</th><th>Type</th><th>Started</th><th>Duration</th>
      <th style="width:32%">Timeline</th><th>Status</th><th>Retries</th></tr></thead><tbody>
      ${detail.steps.map((s) => {
        const left = ((s.entered - start) * 1000) / span * 100;
        const width = Math.max(0.4, (s.duration_ms || 0) / span * 100);
        return `<tr class="clickable" data-state="${esc(s.name)}"><td><b>${esc(s.name)}</b></td><td>${esc(s.type)}</td>
          <td class="num">+${ms((s.entered - start) * 1000)}</td><td class="num">${ms(s.duration_ms)}</td>
          <td><div class="gantt"><span class="${esc(s.status)}" style="left:${left}%;width:${width}%"></span></div></td>
          <td>${badge(s.status)} ${s.status === "CAUGHT" ? esc(s.error) + " → " + esc(s.next) : s.status === "FAILED" ? esc(s.error || "") : ""}</td>
          <td class="num">${s.retries || ""}</td></tr>`;
      }).join("")}</tbody></table>`;
  }

  function metricsTable(metrics) {
    if (!metrics.length) return '<div class="empty">No metric was emitted by this run.</div>';
    return `<table class="grid" id="run-metrics"><thead><tr><th>Metric</th><th>Value</th><th>Unit</th><th>Namespace</th><th>Source</th><th>Time</th></tr></thead><tbody>
      ${metrics.map((m) => `<tr><td><b>${esc(m.name)}</b></td><td class="num">${esc(m.value)}</td><td>${esc(m.unit || "")}</td>
        <td>${esc(m.namespace || "")}</td><td>${esc(m.source.replace(/\((.*)\)/, (_, f) => "(" + short(f) + ")"))}</td>
        <td class="mono small">${esc(clock(m.timestamp))}</td></tr>`).join("")}</tbody></table>`;
  }

  function logsTable(logs) {
    if (!logs.length) return '<div class="empty">No Lambda log line carries this message\'s trace_id.</div>';
    return `<table class="grid logs" id="run-logs"><thead><tr><th>Time (UTC)</th><th>Function</th><th>Message</th></tr></thead><tbody>
      ${logs.map((l) => {
        let level = "";
        try { const d = JSON.parse(l.message); if (d.status === "error") level = "level-error"; } catch (e) {
          if (/^\[ERROR\]/.test(l.message)) level = "level-error";
        }
        return `<tr class="kind-${esc(l.kind)} ${level}"><td class="mono small nowrap">${esc(clock(l.timestamp))}</td>
          <td class="fn">${esc(short(l.function))}</td><td class="msg">${esc(l.message)}</td></tr>`;
      }).join("")}</tbody></table>`;
  }

  function traceKind(e) {
    if (e.origin === "AWS::StepFunctions::StateMachine") return "execution";
    if (e.origin === "AWS::Lambda") return "lambda";
    if (e.origin === "AWS::Lambda::Function") return "function";
    if (e.namespace === "aws") return "aws";
    if (e.depth === 1) return "state";
    return "sub";
  }

  function traceTable(trace) {
    if (!trace.length) return '<div class="empty">No X-Ray segments for this run.</div>';
    const start = Math.min(...trace.map((e) => e.start || Infinity));
    const end = Math.max(...trace.map((e) => e.end || e.start || 0));
    const span = Math.max(0.001, end - start);
    return `<table class="grid trace" id="run-trace"><thead><tr><th>Segment</th><th>Type</th><th>Duration</th>
      <th style="width:40%">${esc(ms(span * 1000))} total</th><th>Notes</th></tr></thead><tbody>
      ${trace.map((e) => {
        const kind = traceKind(e);
        const left = ((e.start - start) / span) * 100;
        const width = Math.max(0.3, (((e.end || e.start) - e.start) / span) * 100);
        const type = e.origin || (e.namespace === "aws" ? "AWS SDK" : e.namespace === "local" ? "local" : e.kind);
        const notes = Object.entries(e.annotations || {}).map(([k, v]) => `${k}=${v}`).join(" ");
        const flags = ["fault", "error", "throttle"].filter((f) => e[f]).map((f) => badge(f.toUpperCase(), "FAILED")).join(" ");
        return `<tr><td class="name"><span class="indent" style="width:${e.depth * 18}px"></span>${esc(e.name)}
            ${e.operation ? `<b>${esc(e.operation)}</b>` : ""}</td>
          <td class="type">${esc(type)}</td><td class="num">${ms(e.duration_ms)}</td>
          <td><div class="bar"><span class="k-${kind} ${e.fault ? "fault" : ""}" style="left:${left}%;width:${width}%"></span></div></td>
          <td class="ann">${flags} ${esc(notes)} ${esc(e.cause || "")}</td></tr>`;
      }).join("")}</tbody></table>`;
  }

  // ------------------------------------------------------------------ the graph
  function drawGraph(detail) {
    const container = document.getElementById("graph");
    if (typeof cytoscape === "undefined") {
      container.innerHTML = '<div class="empty">The graph library is not installed: run <code>make console-deps</code>.</div>';
      return;
    }
    if (typeof cytoscapeDagre !== "undefined" && !drawGraph.registered) {
      cytoscape.use(cytoscapeDagre);
      drawGraph.registered = true;
    }
    const taken = detail.taken;
    const statusClass = { SUCCEEDED: "ok", CAUGHT: "caught", FAILED: "bad", RUNNING: "running" };
    const elements = [];
    for (const node of detail.graph.nodes) {
      const status = taken.nodes[node.id];
      const classes = [node.type, status ? "taken " + (statusClass[status] || "") : "not-taken"];
      elements.push({
        group: "nodes",
        data: { id: node.id, label: node.label, parent: node.parent || undefined, type: node.type,
          w: Math.max(70, node.label.length * 7.6 + 34) },
        classes: classes.join(" "),
      });
    }
    const takenEdges = new Set(taken.edges);
    for (const edge of detail.graph.edges) {
      const on = takenEdges.has(edge.id);
      const catchTaken = on && edge.kind === "catch";
      elements.push({
        group: "edges",
        // Like the Step Functions console: no labels, except on the path taken (and Default).
        data: { id: edge.id, source: edge.source, target: edge.target,
          label: on || edge.kind === "default" ? edge.label : "", errors: edge.label },
        classes: [edge.kind, on ? "taken" : "", catchTaken ? "taken-catch" : ""].join(" "),
      });
    }
    const cy = cytoscape({
      container,
      elements,
      boxSelectionEnabled: false,
      autoungrabify: true,
      style: [
        { selector: "node", style: {
          "shape": "round-rectangle", "width": "data(w)", "height": 34, "label": "data(label)",
          "text-valign": "center", "text-halign": "center", "font-size": 12, "font-weight": 600,
          "background-color": "#ffffff", "border-width": 1.5, "border-color": "#aab3bd", "color": "#5f6b7a",
          "font-family": "Open Sans, Helvetica Neue, Arial, sans-serif" } },
        { selector: "node.Choice", style: { "shape": "round-diamond", "height": 46, "width": "data(w)" } },
        { selector: "node.Start, node.End", style: { "shape": "round-rectangle", "width": 64, "height": 26,
          "background-color": "#eef0f2", "border-color": "#c5ccd3", "font-size": 11, "color": "#5f6b7a" } },
        { selector: "node.BranchStart, node.BranchEnd", style: { "shape": "ellipse", "width": 12, "height": 12,
          "background-color": "#c5ccd3", "border-width": 0, "label": "" } },
        { selector: "node.Fail", style: { "border-style": "double", "border-width": 4 } },
        { selector: "node.Succeed", style: { "border-style": "double", "border-width": 4 } },
        { selector: ":parent", style: { "shape": "round-rectangle", "background-color": "#f7f9fb",
          "background-opacity": 1, "border-style": "dashed", "border-color": "#9aa5b1", "border-width": 1.5,
          "text-valign": "top", "text-halign": "center", "text-margin-y": -6, "padding": 18, "font-size": 13,
          "color": "#16191f" } },
        { selector: "node.taken", style: { "color": "#16191f" } },
        { selector: "node.taken.ok", style: { "background-color": "#e9f6e5", "border-color": "#1d8102", "border-width": 2.5 } },
        { selector: "node.taken.caught", style: { "background-color": "#fff4e0", "border-color": "#e07700", "border-width": 2.5 } },
        { selector: "node.taken.bad", style: { "background-color": "#fdecea", "border-color": "#d13212", "border-width": 2.5 } },
        { selector: "node.taken.running", style: { "background-color": "#e8f2fc", "border-color": "#0972d3", "border-width": 2.5 } },
        { selector: ":parent.taken.ok", style: { "background-color": "#f4fbf2" } },
        { selector: ":parent.taken.bad", style: { "background-color": "#fef6f5" } },
        { selector: "node.not-taken", style: { "opacity": 0.75 } },
        { selector: "node.Start.taken, node.End.taken", style: { "background-color": "#e9f6e5", "border-color": "#1d8102" } },
        { selector: "node.BranchStart.taken, node.BranchEnd.taken", style: { "background-color": "#1d8102" } },
        { selector: "node.selected", style: { "overlay-color": "#0972d3", "overlay-opacity": 0.12, "overlay-padding": 5 } },
        { selector: "edge", style: {
          "curve-style": "bezier", "width": 1.4, "line-color": "#b9c0c7", "target-arrow-color": "#b9c0c7",
          "target-arrow-shape": "triangle", "arrow-scale": 0.9, "label": "data(label)", "font-size": 10,
          "color": "#7d8998", "text-background-color": "#fbfbfc", "text-background-opacity": 1,
          "text-background-padding": 2 } },
        { selector: "edge.catch", style: { "line-style": "dashed" } },
        { selector: "edge.taken", style: { "width": 3.2, "line-color": "#1d8102", "target-arrow-color": "#1d8102",
          "color": "#1d8102", "z-index": 10 } },
        { selector: "edge.taken-catch", style: { "line-color": "#e07700", "target-arrow-color": "#e07700", "color": "#b35c00" } },
      ],
      layout: { name: typeof cytoscapeDagre !== "undefined" ? "dagre" : "breadthfirst",
        rankDir: "TB", nodeSep: 22, rankSep: 36, edgeSep: 10, padding: 14, directed: true },
    });
    cy.on("tap", "node", (event) => selectState(event.target.id()));
    cy.fit(undefined, 18);
    window.consoleState.graph = cy;
  }

  // ------------------------------------------------------------------ metrics
  const RANGES = [
    { key: "15m", minutes: 15, period: 10, label: "last 15 minutes (10 s points)" },
    { key: "1h", minutes: 60, period: 60, label: "last hour (1 min points)" },
    { key: "6h", minutes: 360, period: 300, label: "last 6 hours (5 min points)" },
    { key: "24h", minutes: 1440, period: 900, label: "last 24 hours (15 min points)" },
  ];

  function renderMetrics(params) {
    const range = RANGES.find((r) => r.key === params.get("range")) || RANGES[0];
    app.innerHTML = `
      <h1>Metrics</h1>
      <section class="panel">
        <div class="panel-head"><h2>The pipeline's 8 metrics <span class="count" id="metrics-namespace"></span></h2>
          <form class="filters" style="margin:0"><label>Range<select id="range">${RANGES.map((r) =>
            `<option value="${r.key}" ${r === range ? "selected" : ""}>${esc(r.label)}</option>`).join("")}</select></label></form></div>
        <div class="charts" id="charts"></div>
        <p class="muted small">Sums per period from CloudWatch (GetMetricData). Success metrics come from the Lambdas'
          EMF log lines; error metrics from the workflow's Catch branches (PutMetricData).</p>
      </section>`;
    document.getElementById("range").addEventListener("change", (event) => {
      location.hash = "#/metrics?range=" + event.target.value;
    });
    const load = async () => {
      try {
        const data = await api(`metrics?minutes=${range.minutes}&period=${range.period}`);
        showBanner("");
        drawCharts(data, range);
      } catch (error) {
        showBanner("Could not read metrics: " + error.message);
      }
    };
    load();
    timer = setInterval(load, 10000);
  }

  function drawCharts(data, range) {
    const box = document.getElementById("charts");
    if (!box) return;
    document.getElementById("metrics-namespace").textContent = `(namespace ${data.namespace})`;
    const labels = data.timestamps.map((t) => {
      const iso = new Date(t * 1000).toISOString();
      return range.period < 60 ? iso.slice(11, 19) : iso.slice(11, 16);
    });
    if (typeof Chart === "undefined") {
      box.innerHTML = Object.entries(data.totals).map(([name, total]) =>
        `<div class="chart-card" data-metric="${esc(name)}"><div class="title">${esc(name)}</div><div class="total">${total}</div></div>`).join("") +
        '<div class="empty">The chart library is not installed: run <code>make console-deps</code>.</div>';
      return;
    }
    if (!charts.length) {
      box.innerHTML = Object.keys(data.series).map((name) => `
        <div class="chart-card" data-metric="${esc(name)}"><div class="title"><span>${esc(name)}</span>
          <span class="total" data-total></span></div>
          <canvas></canvas></div>`).join("");
      for (const card of box.querySelectorAll(".chart-card")) {
        const name = card.dataset.metric;
        const bad = ERROR_METRICS.includes(name);
        charts.push(new Chart(card.querySelector("canvas"), {
          type: "bar",
          data: { labels, datasets: [{ label: name, data: data.series[name],
            backgroundColor: bad ? "rgba(209, 50, 18, 0.75)" : "rgba(9, 114, 211, 0.75)", borderRadius: 2 }] },
          options: { animation: false, responsive: true, maintainAspectRatio: false,
            plugins: { legend: { display: false } },
            scales: { x: { ticks: { maxTicksLimit: 6, font: { size: 10 } }, grid: { display: false } },
              y: { beginAtZero: true, ticks: { precision: 0, font: { size: 10 } } } } },
        }));
      }
    }
    for (const chart of charts) {
      const name = chart.data.datasets[0].label;
      chart.data.labels = labels;
      chart.data.datasets[0].data = data.series[name];
      chart.update();
      const total = chart.canvas.closest(".chart-card").querySelector("[data-total]");
      total.textContent = data.totals[name];
      total.classList.toggle("bad", ERROR_METRICS.includes(name) && data.totals[name] > 0);
    }
    window.consoleState.loaded = true;
  }

  // ------------------------------------------------------------------ start
  api("health").then((health) => {
    document.getElementById("endpoint").textContent = health.endpoint;
    const missing = Object.entries(health.vendor).filter(([, ok]) => !ok).map(([name]) => name);
    if (missing.length) showBanner("Missing console libraries (" + missing.join(", ") + "): run `make console-deps`.");
  }).catch(() => showBanner("The local stack does not answer: is `make up` still running?"));
  route();
})();
