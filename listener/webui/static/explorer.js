// Mention explorer: full-text search with filters, explanation words marked, CSV export of the same query.
"use strict";
(() => {
  const { el, getJSON, number } = Vigie;
  const form = document.getElementById("filters");
  const PAGE = 50;
  let offset = 0, names = {}, facetsLoaded = false;

  function query() {
    const params = new URLSearchParams();
    for (const field of form.elements) {
      if (!field.name || !field.value.trim()) continue;
      params.set(field.name, field.value.trim());
    }
    return params;
  }
  function fillSelect(id, items, current) {
    const select = document.getElementById(id);
    for (const item of items) select.append(el("option", item.label || item.name || item, undefined, { value: item.name || item }));
    if (current) select.value = current;
  }
  async function search(append) {
    const params = query();
    document.getElementById("export").href = "/api/explorer.csv?" + params.toString();
    if (!append) { offset = 0; history.replaceState(null, "", "?" + params.toString()); }
    params.set("limit", String(PAGE)); params.set("offset", String(offset));
    const data = await getJSON("/api/explorer?" + params.toString());
    if (!facetsLoaded) {
      const initial = new URLSearchParams(location.search);
      fillSelect("f-source", data.facets.sources, initial.get("source"));
      fillSelect("f-topic", data.facets.topics, initial.get("topic"));
      fillSelect("f-crisis", data.facets.crisis, initial.get("crisis"));
      for (const f of [...data.facets.topics, ...data.facets.crisis]) names[f.name] = f.label;
      facetsLoaded = true;
    }
    const list = document.getElementById("results");
    if (!append) list.replaceChildren();
    for (const mention of data.mentions) list.append(VigieMention.render(mention, names));
    offset += data.mentions.length;
    document.getElementById("result-count").textContent = offset ? `${number.format(offset)} mention(s) affichée(s)` : "Aucune mention ne correspond.";
    document.getElementById("more").hidden = data.mentions.length < PAGE;
  }
  const initial = new URLSearchParams(location.search);
  for (const field of form.elements) if (field.name && initial.get(field.name)) field.value = initial.get(field.name);
  form.addEventListener("submit", event => { event.preventDefault(); search(false).catch(error => Vigie.notice(error.message)); });
  document.getElementById("more").addEventListener("click", () => search(true).catch(error => Vigie.notice(error.message)));
  Vigie.crisisBadge(); search(false).catch(error => Vigie.notice(error.message));
})();
