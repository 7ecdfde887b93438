// Incidents list: open ones by severity, or all of them newest first.
"use strict";
(() => {
  const { el, when, getJSON, SEVERITY, ALERT_STATUS } = Vigie;
  async function load() {
    const status = document.getElementById("status").value;
    const data = await getJSON("/api/workspace/incidents?status=" + status);
    const body = document.querySelector("#incident-list tbody"); body.replaceChildren();
    if (!data.incidents.length) Vigie.empty(body, 4, "Aucun incident.");
    for (const item of data.incidents) {
      const row = el("tr");
      const title = el("td"); title.append(el("a", item.title, undefined, { href: "/incidents/" + item.id }));
      row.append(el("td", when(item.opened_at)), el("td", SEVERITY[item.severity] || item.severity, "sev " + item.severity), title,
        el("td", (ALERT_STATUS[item.status] || item.status) + (item.acked_by ? " (" + item.acked_by + ")" : "")));
      body.append(row);
    }
  }
  document.getElementById("status").addEventListener("change", load);
  Vigie.crisisBadge(); load().catch(error => Vigie.notice(error.message));
})();
