// Dashboard: crisis level and its history, volume with selectable keys, expected band and alerts,
// tone shares, trending terms, top authors, open incidents. Everything comes from /api/dashboard.
"use strict";
(() => {
  const { el, when, hour, getJSON, send, can, number, percent, LEVEL, SEVERITY, ALERT_STATUS } = Vigie;
  const state = { keys: ["all"], hours: 36, keyList: [], data: null };
  const params = new URLSearchParams(location.search);
  if (params.get("keys")) state.keys = params.get("keys").split(",").filter(Boolean).slice(0, 8);
  if (params.get("hours")) state.hours = Number(params.get("hours")) || 36;
  document.getElementById("range").value = String(state.hours);

  function renderKeys() {
    const box = document.getElementById("keys");
    box.querySelectorAll("div.kind").forEach(node => node.remove());
    const groups = new Map();
    for (const item of state.keyList) {
      if (!groups.has(item.kind_label)) groups.set(item.kind_label, []);
      groups.get(item.kind_label).push(item);
    }
    for (const key of state.keys) if (!state.keyList.some(k => k.key === key)) {
      if (!groups.has("Autres")) groups.set("Autres", []);
      groups.get("Autres").push({ key, label: key, total: 0 });
    }
    for (const [kind, items] of groups) {
      const group = el("div", undefined, "kind");
      group.append(el("strong", kind + " : ", "meta"));
      for (const item of items) {
        const id = "key-" + item.key.replace(/[^a-z0-9]/gi, "_");
        const label = el("label", undefined, undefined, { for: id });
        const box = el("input", undefined, undefined, { type: "checkbox", id, value: item.key });
        box.checked = state.keys.includes(item.key);
        const index = state.keys.indexOf(item.key);
        const swatch = el("span", undefined, "legend-swatch");
        if (index >= 0) swatch.style.background = VigieCharts.COLORS[index % VigieCharts.COLORS.length];
        label.append(box, swatch, el("span", `${item.label} (${number.format(item.total)})`));
        box.addEventListener("change", () => {
          if (box.checked && !state.keys.includes(item.key)) state.keys = [...state.keys, item.key].slice(-8);
          if (!box.checked) state.keys = state.keys.filter(k => k !== item.key);
          if (!state.keys.length) state.keys = ["all"];
          history.replaceState(null, "", "?keys=" + encodeURIComponent(state.keys.join(",")) + "&hours=" + state.hours);
          loadVolume();
        });
        group.append(label);
      }
      box.append(group);
    }
  }

  function renderVolume(volume, alerts) {
    const container = document.getElementById("volume-chart");
    VigieCharts.volume(container, volume, alerts, window.innerWidth < 640 ? 240 : 320);
    const main = volume.series[0];
    if (main && main.values.length) {
      let peak = 0; main.values.forEach((v, i) => { if (v > main.values[peak]) peak = i; });
      const above = main.values.filter((v, i) => v > main.high[i]).length;
      document.getElementById("volume-summary").textContent = Vigie.clean(
        `${main.label} : ${number.format(main.total)} mentions, pic de ${number.format(main.values[peak])} en ${volume.step_minutes} min ` +
        `le ${when(volume.times[peak])} ; ${above} intervalle(s) au-dessus de la bande attendue ; ${alerts.length} alerte(s) sur la période.`);
    }
    container.dataset.series = volume.series.map(s => s.key).join(",");
    container.dataset.peak = main ? String(Math.max(...main.values)) : "0";
    container.dataset.alerts = String(alerts.length);
    renderKeys();
  }

  function renderCrisis(crisis, allowed) {
    document.getElementById("level").textContent = LEVEL[crisis.state] || crisis.state;
    document.getElementById("level").className = "value level-" + crisis.state;
    document.getElementById("level-since").textContent = crisis.since ? "depuis le " + when(crisis.since) : "";
    const list = document.getElementById("crisis-history"); list.replaceChildren();
    if (!crisis.history.length) list.append(el("li", "Aucun changement de niveau.", "meta"));
    for (const entry of crisis.history) {
      const item = el("li", undefined, entry.to_state === "crise" ? "critical" : entry.to_state === "vigilance" ? "warning" : "");
      item.append(el("strong", `${when(entry.at)} — ${LEVEL[entry.from_state] || entry.from_state} → ${LEVEL[entry.to_state] || entry.to_state}`));
      item.append(el("div", `${entry.reason || ""} (par ${entry.actor})`, "meta"));
      list.append(item);
    }
    const form = document.getElementById("crisis-form");
    if (can("crisis") && allowed && allowed.length) {
      const select = document.getElementById("crisis-target");
      const current = select.value; select.replaceChildren();
      for (const target of allowed) select.append(el("option", LEVEL[target] || target, undefined, { value: target }));
      if (allowed.includes(current)) select.value = current;
      form.hidden = false;
    } else form.hidden = true;
  }

  function renderIncidents(items) {
    const list = document.getElementById("incidents"); list.replaceChildren();
    if (!items.length) list.append(el("li", "Aucun incident ouvert.", "meta"));
    for (const item of items.slice(0, 8)) {
      const li = el("li");
      const link = el("a", item.title, undefined, { href: "/incidents/" + item.id });
      li.append(el("span", SEVERITY[item.severity] || item.severity, "sev " + item.severity), document.createTextNode(" "), link);
      li.append(el("div", `ouvert le ${when(item.opened_at)} · ${ALERT_STATUS[item.status] || item.status}` +
        (item.acked_by ? ` · pris en charge par ${item.acked_by}` : ""), "meta"));
      list.append(li);
    }
    if (items.length > 8) {
      const more = el("li"); more.append(el("a", `Voir les ${items.length} incidents ouverts`, undefined, { href: "/incidents" })); list.append(more);
    }
  }

  function renderTrending(data) {
    const list = document.getElementById("trending"); list.replaceChildren();
    if (data.trending_pending && !data.trending.length) list.append(el("li", "Calcul en cours…", "meta"));
    else if (!data.trending.length) list.append(el("li", "Rien de significatif.", "meta"));
    for (const term of data.trending) {
      const li = el("li");
      li.append(el("strong", term.term), el("span", ` ${number.format(term.volume)} mentions (×${String(term.change).replace(".", ",")})`, "meta"));
      if (term.negative !== null && term.negative !== undefined) li.append(el("span", ` · ${percent.format(term.negative)} négatives`, "meta"));
      list.append(li);
    }
    const fresh = document.getElementById("new-terms"); fresh.replaceChildren();
    if (!data.new_terms.length) fresh.append(el("li", "Aucun.", "meta"));
    for (const term of data.new_terms) fresh.append(el("li", `${term.term} — vu le ${when(term.at)}`));
  }

  function renderAuthors(authors, pending) {
    const body = document.querySelector("#authors tbody"); body.replaceChildren();
    if (!authors.length) Vigie.empty(body, 6, pending ? "Calcul en cours…" : "Aucun auteur sur la période.");
    for (const a of authors) {
      const row = el("tr");
      const who = el("td"); who.append(el("strong", a.handle)); if (a.name) who.append(el("div", a.name, "meta"));
      const link = el("a", "mentions", undefined, { href: "/mentions?author=" + encodeURIComponent(a.handle) });
      const count = el("td"); count.append(document.createTextNode(number.format(a.mentions) + " "), link);
      row.append(who, el("td", a.source), el("td", number.format(a.followers || 0)), count,
        el("td", number.format(a.negative), "hide-small"), el("td", number.format(a.hostile), "hide-small"));
      body.append(row);
    }
  }

  async function loadVolume() {
    const data = await getJSON(`/api/volume?hours=${state.hours}&keys=${encodeURIComponent(state.keys.join(","))}`);
    renderVolume(data.volume, data.alerts);
  }

  async function loadKeys() {
    try { state.keyList = (await getJSON(`/api/volume/keys?hours=${state.hours}`)).keys; } catch (error) { state.keyList = []; }
    renderKeys();
  }

  async function load() {
    const [data, crisis] = await Promise.all([
      getJSON(`/api/dashboard?hours=${state.hours}&keys=${encodeURIComponent(state.keys.join(","))}`), Vigie.crisisBadge()]);
    state.data = data;
    document.getElementById("m-window").textContent = number.format(data.shares.mentions);
    document.getElementById("neg-share").textContent = data.shares.negative_share === null ? "—" : percent.format(data.shares.negative_share);
    document.getElementById("hostile-share").textContent = data.shares.hostile_share === null ? "—" : percent.format(data.shares.hostile_share);
    document.getElementById("a-open").textContent = number.format(data.open_alerts);
    renderVolume(data.volume, data.alerts);
    renderCrisis(data.crisis, crisis ? crisis.allowed : []);
    renderIncidents(data.incidents);
    VigieCharts.shares(document.getElementById("shares-chart"), data.shares, window.innerWidth < 640 ? 180 : 220);
    renderTrending(data);
    renderAuthors(data.top_authors, data.top_authors_pending);
    if (data.trending_pending || data.top_authors_pending) setTimeout(load, 4000);
  }

  document.getElementById("range").addEventListener("change", event => {
    state.hours = Number(event.target.value);
    history.replaceState(null, "", "?keys=" + encodeURIComponent(state.keys.join(",")) + "&hours=" + state.hours);
    loadKeys(); load();
  });
  document.getElementById("crisis-form").addEventListener("submit", async event => {
    event.preventDefault();
    const target = document.getElementById("crisis-target").value;
    const reason = document.getElementById("crisis-reason").value.trim();
    await send("POST", "/api/crisis", { state: target, reason });
    Vigie.notice("Niveau changé : " + (LEVEL[target] || target), "ok");
    document.getElementById("crisis-reason").value = "";
    load();
  });
  loadKeys();
  load().catch(error => Vigie.notice("Tableau de bord indisponible : " + error.message));
  setInterval(() => load().catch(() => {}), 60000);
})();
