// Vigie web UI: reads the JSON API and renders with textContent only (post text is never HTML).
"use strict";
const SEVERITY = { critical: "Critique", warning: "Avertissement", info: "Information" };
const STATE = { normal: "Normal", vigilance: "Vigilance", crise: "CRISE", retour: "Retour à la normale" };
const ALERT_STATUS = { open: "ouverte", acknowledged: "prise en charge", resolved: "résolue", silenced: "en silence" };
const SENTIMENT = { negative: "négatif", neutral: "neutre", positive: "positif" };
const fmt = new Intl.DateTimeFormat("fr-FR", { dateStyle: "short", timeStyle: "short", timeZone: "Europe/Paris" });

// Bidi embedding/override/isolate controls in post text would make it read backwards: dropped on display.
const BIDI = /[\u202a-\u202e\u2066-\u2069]/g;
function el(tag, text, cls) { const node = document.createElement(tag); if (text !== undefined) node.textContent = String(text).replace(BIDI, ""); if (cls) node.className = cls; return node; }
function when(iso) { return iso ? fmt.format(new Date(iso)) : "—"; }
async function getJSON(url) { const response = await fetch(url); if (!response.ok && response.status !== 503) throw new Error(url + " " + response.status); return response.json(); }

async function loadStatus() {
  const data = await getJSON("/api/status");
  document.getElementById("m-total").textContent = data.store.mentions.toLocaleString("fr-FR");
  document.getElementById("m-last").textContent = when(data.store.latest_mention_at);
  const health = document.getElementById("health");
  health.textContent = data.health.status === "ok" ? "Service : opérationnel" : "Service : dégradé";
  const body = document.querySelector("#sources tbody"); body.replaceChildren();
  for (const [name, component] of Object.entries(data.health.components)) {
    const row = el("tr"); row.append(el("td", name), el("td", component.state || "?"), el("td", component.last_error || component.last_crash || ""));
    body.append(row);
  }
  const crisis = data.crisis || { state: "normal" };
  const badge = document.getElementById("crisis");
  badge.className = "crisis " + crisis.state;
  badge.textContent = "Niveau : " + (STATE[crisis.state] || crisis.state) + (crisis.reason ? " — " + crisis.reason : "");
}

async function loadAlerts() {
  let data;
  try { data = await getJSON("/api/alerts?limit=30"); } catch (error) { return; }
  const alerts = data.alerts || [];
  document.getElementById("a-open").textContent = alerts.filter(a => a.status === "open").length;
  const body = document.querySelector("#alerts tbody"); body.replaceChildren();
  if (!alerts.length) { const row = el("tr"); const cell = el("td", "Aucune alerte."); cell.colSpan = 4; row.append(cell); body.append(row); }
  for (const alert of alerts) {
    const row = el("tr");
    const title = el("td"); title.append(el("strong", alert.title)); if (alert.summary) title.append(el("div", alert.summary, "meta"));
    row.append(el("td", when(alert.created_at)), el("td", SEVERITY[alert.severity] || alert.severity, "sev " + alert.severity), title, el("td", ALERT_STATUS[alert.status] || alert.status, "status " + alert.status));
    body.append(row);
  }
}

async function loadPosts() {
  let data;
  try { data = await getJSON("/api/posts"); } catch (error) { return; }
  const posts = data.posts || [];
  const held = posts.filter(p => p.state === "held").length;
  document.getElementById("posts-summary").textContent = held
    ? `${held} publication(s) retenue(s) par la politique de crise : à relire avant toute remise en file (vigie posts release).`
    : "Aucune publication retenue.";
  const body = document.querySelector("#posts tbody"); body.replaceChildren();
  if (!posts.length) { const row = el("tr"); const cell = el("td", "Aucune publication programmée."); cell.colSpan = 5; row.append(cell); body.append(row); }
  for (const post of posts) {
    const row = el("tr", undefined, post.state === "held" ? "held" : "");
    const text = el("td"); text.append(el("div", post.text));
    if (post.held_reason) text.append(el("div", post.held_reason, "meta"));
    if (post.needs_approval) text.append(el("div", "Validation par une seconde personne requise", "meta"));
    row.append(el("td", when(post.scheduled_at)), el("td", post.category_label), el("td", post.channel), text,
      el("td", post.state_label, "post-state " + post.state));
    body.append(row);
  }
}

async function loadMentions(query) {
  const data = await getJSON("/api/mentions?limit=40" + (query ? "&q=" + encodeURIComponent(query) : ""));
  const list = document.getElementById("mentions"); list.replaceChildren();
  if (!data.mentions.length) list.append(el("li", "Aucune mention."));
  for (const mention of data.mentions) {
    const item = el("li");
    const meta = el("div", `${when(mention.created_at)} · ${mention.source} · ${mention.author_handle || "anonyme"}`, "meta");
    const labels = mention.labels;
    if (labels) {
      meta.append(el("span", SENTIMENT[labels.sentiment] || labels.sentiment, "tag " + labels.sentiment));
      for (const topic of labels.topics || []) meta.append(el("span", topic.name, "tag"));
      if (labels.hostile) meta.append(el("span", "hostile", "tag hostile"));
      for (const crisis of labels.crisis || []) meta.append(el("span", crisis.name, "tag crisis"));
    }
    item.append(meta, el("div", mention.text));
    list.append(item);
  }
}

document.getElementById("search-form").addEventListener("submit", event => { event.preventDefault(); loadMentions(document.getElementById("q").value.trim()); });
async function refresh() { try { await Promise.all([loadStatus(), loadAlerts(), loadPosts()]); } catch (error) { document.getElementById("health").textContent = "Service : injoignable"; } }
refresh(); loadMentions(""); setInterval(refresh, 10000);
