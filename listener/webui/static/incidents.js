// Incidents list: open ones by severity, or all of them newest first; deliveries that failed for good.
"use strict";
(() => {
  const { el, when, getJSON, send, can, SEVERITY, ALERT_STATUS } = Vigie;
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
  // Dead deliveries (permanent errors): listed for everyone, « Relancer » for the roles that act on alerts.
  async function loadDeliveries() {
    const data = await getJSON("/api/outbox?state=dead&limit=100");
    const body = document.querySelector("#dead-deliveries tbody"); body.replaceChildren();
    if (!data.items.length) Vigie.empty(body, 7, "Aucune livraison en échec.");
    for (const item of data.items) {
      const row = el("tr"); row.dataset.id = String(item.id);
      const action = el("td");
      if (can("alerts")) {
        const b = el("button", "Relancer", "secondary", { type: "button", "data-action": "retry" });
        b.addEventListener("click", async () => {
          b.disabled = true;
          try {
            const result = await send("POST", `/api/outbox/${item.id}/retry`);
            Vigie.notice(result.requeued ? `Livraison n° ${item.id} remise en file : elle repart maintenant.`
                                         : `La livraison n° ${item.id} n'est plus en échec (déjà relancée ?).`, "ok");
            await loadDeliveries();
          } catch (error) { b.disabled = false; }
        });
        action.append(b);
      }
      row.append(el("td", when(item.created_at)), el("td", item.kind_label || item.kind), el("td", item.channel),
        el("td", item.target), el("td", item.last_error || "—", "meta"), el("td", String(item.attempts)), action);
      body.append(row);
    }
  }
  document.getElementById("status").addEventListener("change", load);
  Vigie.crisisBadge(); load().catch(error => Vigie.notice(error.message));
  loadDeliveries().catch(error => Vigie.notice(error.message));
})();
