/* The dead-letter queue page: every DLQ message with its reason, filters, and a redrive dry run.
 * Data: api/dlq and api/dlq-plan (pipeline_tools/dlq/console.py), the same functions as
 * `python -m local_aws runs dlq`. Reading the DLQ holds its messages for a moment, so the page
 * reads on demand (Refresh), never on a timer. Moving messages stays a command (shown here). */
(function () {
  "use strict";
  const FILTERS = ["reason", "group", "older_than", "newer_than", "id"];
  const TARGET = ["dlq_url", "queue_url", "table"];

  function age(seconds) {
    if (seconds === null || seconds === undefined) return "–";
    for (const [unit, size] of [["d", 86400], ["h", 3600], ["m", 60]]) {
      if (seconds >= size) return (seconds / size).toFixed(1) + unit;
    }
    return Math.round(seconds) + "s";
  }

  function query(params, keys) {
    const out = new URLSearchParams();
    for (const key of keys) if (params.get(key)) out.set(key, params.get(key));
    return out;
  }

  window.renderDlq = function (app, params) {
    const { esc } = window.consoleKit;
    const input = (name, label, hint) =>
      `<label>${label}<input name="${name}" id="d-${name}" placeholder="${hint}" value="${esc(params.get(name) || "")}"></label>`;
    app.innerHTML = `
      <h1>Dead letters</h1>
      <section class="panel">
        <form class="filters" id="dlq-filters">
          <label>Reason<select name="reason" id="d-reason"><option value="">any</option></select></label>
          ${input("group", "Message group", "any")}
          ${input("older_than", "Older than", "e.g. 1h")}
          ${input("newer_than", "Newer than", "e.g. 10m")}
          ${input("id", "Message id", "SQS, message_id or source")}
          ${TARGET.map((key) => `<input type="hidden" name="${key}" value="${esc(params.get(key) || "")}">`).join("")}
          <button type="submit" class="primary">Apply</button>
          <button type="button" id="dlq-plan-button">Redrive dry run</button>
        </form>
        <div class="panel-head"><h2>Messages <span class="count" id="dlq-count"></span></h2>
          <span class="muted small" id="dlq-source"></span></div>
        <table class="grid" id="dlq-table">
          <thead><tr><th>Age</th><th>SQS message ID</th><th>Message ID</th><th>Group</th><th>Kind</th>
            <th>Reason</th><th>Detail</th><th>Copies</th><th>Stored</th><th>Runs</th></tr></thead>
          <tbody><tr><td colspan="10" class="empty">loading…</td></tr></tbody>
        </table>
      </section>
      <section class="panel" id="dlq-plan" hidden></section>`;
    const form = document.getElementById("dlq-filters");
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const data = new URLSearchParams();
      for (const [key, value] of new FormData(form).entries()) if (value) data.set(key, value);
      location.hash = "#/dlq?" + data.toString();
    });
    const selected = query(params, FILTERS.concat(TARGET));
    document.getElementById("dlq-plan-button").addEventListener("click", () => showPlan(selected));
    load(selected, params.get("reason") || "");
    if (params.get("plan") === "1") showPlan(selected);
  };

  async function load(selected, reason) {
    const { esc, badge, api, showBanner, runLink } = window.consoleKit;
    let data;
    try {
      data = await api("dlq?" + selected.toString());
      showBanner("");
    } catch (error) {
      showBanner("Could not read the DLQ: " + error.message);
      window.consoleState.loaded = true;
      return;
    }
    const select = document.getElementById("d-reason");
    if (!select) return;
    const reasons = data.reasons.includes(reason) || !reason ? data.reasons : data.reasons.concat([reason]);
    select.innerHTML = '<option value="">any</option>' + reasons.map((r) =>
      `<option ${r === reason ? "selected" : ""}>${esc(r)}</option>`).join("");
    document.getElementById("dlq-count").textContent = `(${data.messages.length} of ${data.total})`;
    document.getElementById("dlq-source").textContent = `${data.dlq_url} → redrives to ${data.queue_url}` +
      (data.unread ? ` · ${data.unread} more not readable now (FIFO: behind messages of their group)` : "");
    const body = document.querySelector("#dlq-table tbody");
    if (!data.messages.length) {
      body.innerHTML = '<tr><td colspan="10" class="empty">No message matches (the DLQ is empty or the filters exclude everything).</td></tr>';
    } else {
      body.innerHTML = data.messages.map((m) => `
        <tr class="dlq-row" data-sqs-id="${esc(m.sqs_message_id)}" data-reason="${esc(m.reason)}" data-kind="${esc(m.kind)}">
          <td class="num">${esc(age(m.age_s))}</td>
          <td class="mono small">${esc(m.sqs_message_id)}</td>
          <td class="mono small">${esc(m.message_id || "–")}</td>
          <td>${esc(m.group || "–")}</td>
          <td>${badge(m.kind)}</td>
          <td class="reason">${esc(m.reason)}</td>
          <td class="small detail">${esc(m.reason_detail || "")}${m.failed_receives !== null ? `<div class="muted">${m.failed_receives} failed receive(s)${m.failed_state ? ", last in " + esc(m.failed_state) : ""}</div>` : ""}</td>
          <td class="num">${m.copies}</td>
          <td>${m.stored === null ? "–" : m.stored ? "yes" : "no"}</td>
          <td class="small">${m.runs.map((id) => `<a href="${runLink(id)}">${esc(id)}</a>`).join("<br>")}</td>
        </tr>`).join("");
    }
    window.consoleState.loaded = true;
  }

  async function showPlan(selected) {
    const { esc, api } = window.consoleKit;
    const panel = document.getElementById("dlq-plan");
    panel.hidden = false;
    panel.innerHTML = '<div class="muted">computing the plan…</div>';
    try {
      const data = await api("dlq-plan?" + selected.toString());
      panel.innerHTML = `
        <div class="panel-head"><h2>Redrive dry run: ${data.moves.length} message(s) would be sent</h2>
          <span class="muted small">nothing was changed</span></div>
        <table class="grid" id="dlq-plan-table">
          <thead><tr><th>Source message</th><th>Message ID</th><th>Reason</th><th>From group</th>
            <th>To group</th><th>dlq_retry</th><th>DLQ copies deleted after the send</th><th>Note</th></tr></thead>
          <tbody>${data.moves.map((m) => `
            <tr class="plan-row"><td class="mono small">${esc(m.source_message_id)}</td>
              <td class="mono small">${esc(m.message_id || "–")}</td><td>${esc(m.reason)}</td>
              <td>${esc(m.from_group || "–")}</td><td class="mono small">${esc(m.to_group)}</td>
              <td class="num">${m.dlq_retry === null ? "unchanged" : m.dlq_retry}</td>
              <td class="num">${m.dlq_messages.length}</td><td class="small">${esc(m.note)}</td></tr>`).join("")}
          </tbody>
        </table>
        <p>To apply, run: <code id="dlq-command">${esc(data.command)}</code></p>`;
    } catch (error) {
      panel.innerHTML = `<div class="error-message" id="dlq-plan-error">${esc(error.message)}</div>`;
    }
    window.consoleState.planned = true;
  }
})();
