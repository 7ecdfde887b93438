// Shared helpers of the workspace's pages. Data is only ever put in the page with textContent:
// a post's text, an author's name or a search term can never become markup.
"use strict";
const Vigie = (() => {
  const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";
  const who = document.getElementById("who");
  const permissions = new Set((who?.dataset.permissions || "").split(" ").filter(Boolean));
  const tz = "Europe/Paris";
  const dateTime = new Intl.DateTimeFormat("fr-FR", { dateStyle: "short", timeStyle: "short", timeZone: tz });
  const timeOnly = new Intl.DateTimeFormat("fr-FR", { hour: "2-digit", minute: "2-digit", timeZone: tz });
  const number = new Intl.NumberFormat("fr-FR");
  const percent = new Intl.NumberFormat("fr-FR", { style: "percent", maximumFractionDigits: 0 });
  const LEVEL = { normal: "Normal", vigilance: "Vigilance", crise: "CRISE", retour: "Retour à la normale" };
  const SEVERITY = { critical: "Critique", warning: "Avertissement", info: "Information" };
  const ALERT_STATUS = { open: "ouverte", acknowledged: "prise en charge", resolved: "résolue", silenced: "en silence" };
  const SENTIMENT = { negative: "négatif", neutral: "neutre", positive: "positif" };
  // Bidi overrides and other invisible controls are shown as nothing: a post cannot reorder the page's text.
  const CONTROLS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]/g;

  function clean(value) { return value === null || value === undefined ? "" : String(value).replace(CONTROLS, ""); }
  function el(tag, text, cls, attrs) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = clean(text);
    if (cls) node.className = cls;
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
    return node;
  }
  function when(iso) { return iso ? dateTime.format(new Date(iso)) : "—"; }
  function hour(iso) { return iso ? timeOnly.format(new Date(iso)) : "—"; }
  function notice(message, kind) {
    const box = document.getElementById("notice"); if (!box) return;
    box.textContent = clean(message); box.className = "notice " + (kind || "error"); box.hidden = !message;
  }
  async function getJSON(url) {
    const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (response.status === 401) { location.href = "/login?next=" + encodeURIComponent(location.pathname + location.search); throw new Error("session"); }
    if (!response.ok && response.status !== 503) throw new Error(url + " " + response.status);
    return response.json();
  }
  async function send(method, url, body) {
    const response = await fetch(url, {
      method, credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf, Accept: "application/json" },
      body: JSON.stringify(body || {}),
    });
    let data = {}; try { data = await response.json(); } catch (error) { data = {}; }
    if (!response.ok) { notice(data.error || ("échec : " + response.status)); throw new Error(data.error || String(response.status)); }
    notice("");
    return data;
  }
  function can(permission) { return permissions.has(permission); }
  function empty(body, columns, text) {
    const row = el("tr"); const cell = el("td", text, "meta"); cell.colSpan = columns; row.append(cell); body.append(row);
  }
  async function crisisBadge() {
    try {
      const data = await getJSON("/api/crisis");
      const badge = document.getElementById("crisis");
      badge.className = "crisis " + data.state;
      badge.textContent = clean("Niveau : " + (LEVEL[data.state] || data.state));
      badge.title = clean(data.reason);
      return data;
    } catch (error) { return null; }
  }
  return { el, clean, when, hour, notice, getJSON, send, can, empty, crisisBadge, number, percent,
           LEVEL, SEVERITY, ALERT_STATUS, SENTIMENT };
})();
