// Incident page: timeline of signals, alerts and notifications, figures as a chart, evidence mentions,
// crisis actions and held posts; acknowledge / silence / resolve from here.
"use strict";
(() => {
  const { el, clean, when, getJSON, send, can, SEVERITY, ALERT_STATUS, LEVEL } = Vigie;
  const id = document.getElementById("incident").dataset.id;
  const KIND = { signal: "signal", alert: "alerte", notification: "message", notified: "message envoyé", ack: "prise en charge",
                 acknowledged: "prise en charge", opened: "ouverture", update: "mise à jour", change: "changement",
                 held: "message retenu", resolved: "clôture", silenced: "silence", escalation: "escalade", escalated: "escalade" };
  let item = null;

  function act(path, body, message) {
    return send("POST", path, body || {}).then(() => { Vigie.notice(message, "ok"); load(); });
  }
  function actions() {
    const box = document.getElementById("incident-actions");
    box.hidden = !can("alerts");
    const incident = item.kind === "incident";
    const base = incident ? "/api/incidents/" + id : "/api/alerts/" + id;
    document.getElementById("act-ack").onclick = () => act(base + "/ack", {}, "Pris en charge.");
    document.getElementById("act-silence").onclick = () => {
      const duration = document.getElementById("silence-duration").value;
      if (incident) return act(base + "/silence", { duration }, "Mis en silence.");
      const key = (item.keys || [])[0];
      return act("/api/silences", { key, duration, reason: "depuis la page de l'alerte n° " + id }, "Mis en silence.");
    };
    const resolve = document.getElementById("act-resolve");
    resolve.hidden = !incident;
    resolve.onclick = () => act(base + "/resolve", {}, "Incident clos.");
    const closed = item.status === "resolved";
    for (const button of box.querySelectorAll("button")) button.disabled = closed;
    document.getElementById("act-ack").disabled = closed || item.status === "acknowledged";
  }

  async function load() {
    const data = await getJSON("/api/workspace/incidents/" + encodeURIComponent(id));
    item = data.item;
    // Titles, names and figures may carry words of the posts: neutralised like every other text (clean).
    document.getElementById("incident-title").textContent = clean(item.title);
    document.title = clean(item.title) + " — Vigie";
    document.getElementById("incident-meta").textContent = clean(
      `${SEVERITY[item.severity] || item.severity} · ${ALERT_STATUS[item.status] || item.status} · ouvert le ${when(item.opened_at)}` +
      ` · mis à jour le ${when(item.updated_at)}` + (item.acked_by ? ` · pris en charge par ${item.acked_by}` : ""));
    actions();
    const timeline = document.getElementById("timeline"); timeline.replaceChildren();
    for (const entry of item.timeline) {
      const li = el("li", undefined, entry.severity || "");
      li.append(el("strong", `${when(entry.at)} · ${KIND[entry.kind] || entry.kind}`));
      li.append(el("div", entry.text || ""));
      timeline.append(li);
    }
    if (!item.timeline.length) timeline.append(el("li", "Rien encore.", "meta"));
    VigieCharts.volume(document.getElementById("incident-chart"), data.volume, data.alerts, 260);
    const FIGURE = { observed: "observé", expected: "attendu", window: "fenêtre (min)", window_minutes: "fenêtre (min)",
                     threshold: "seuil", score: "score", started_at: "depuis", mentions: "mentions", authors: "auteurs" };
    const lines = Array.isArray(item.figures) ? item.figures.filter(line => typeof line === "string") : null;
    const figures = lines ? [] : Object.entries(item.figures || {}).filter(([k, v]) => FIGURE[k] && (typeof v === "number" || typeof v === "string"));
    document.getElementById("incident-figures").textContent = clean(lines ? lines.join(" · ") : figures.map(([k, v]) =>
      `${FIGURE[k]} : ${typeof v === "number" ? Vigie.number.format(Math.round(v * 10) / 10) : (k.endsWith("_at") ? when(v) : v)}`).join(" · "));
    const crisis = document.getElementById("crisis-actions"); crisis.replaceChildren();
    for (const entry of data.crisis_actions) {
      const li = el("li", undefined, entry.to_state === "crise" ? "critical" : "warning");
      li.append(el("strong", `${when(entry.at)} — niveau ${LEVEL[entry.to_state] || entry.to_state}`), el("div", `${entry.reason} (par ${entry.actor})`, "meta"));
      crisis.append(li);
    }
    if (!data.crisis_actions.length) crisis.append(el("li", "Aucun changement de niveau.", "meta"));
    const held = document.getElementById("held-posts"); held.replaceChildren();
    for (const post of data.held_posts) {
      const li = el("li");
      li.append(el("div", `${post.state_label} · ${post.channel} · prévue le ${when(post.scheduled_at)}`, "meta"), el("p", post.text, "post-text"));
      if (post.held_reason) li.append(el("div", post.held_reason, "meta"));
      li.append(el("a", "Ouvrir le bureau des publications", undefined, { href: "/publications" }));
      held.append(li);
    }
    const evidence = document.getElementById("evidence"); evidence.replaceChildren();
    for (const mention of data.evidence) evidence.append(VigieMention.render(mention));
    if (!data.evidence.length) evidence.append(el("li", "Aucune mention rattachée.", "meta"));
  }
  Vigie.crisisBadge(); load().catch(error => Vigie.notice("Incident indisponible : " + error.message));
})();
