// One mention as a list item: meta line, labels, the text with its explanation words marked, a link to
// the original. Every piece goes in with textContent: a post's text is never markup.
"use strict";
const VigieMention = (() => {
  const { el, when, number, SENTIMENT } = Vigie;
  function render(m, names) {
    const item = el("li", undefined, "mention" + (m.hostile ? " is-hostile" : ""));
    const meta = el("div", `${when(m.created_at)} · ${m.source} · ${m.author_handle || "anonyme"}` +
      (m.author_followers ? ` (${number.format(m.author_followers)} abonnés)` : ""), "meta");
    if (m.sentiment) meta.append(el("span", SENTIMENT[m.sentiment] || m.sentiment, "tag " + m.sentiment));
    for (const topic of m.topics || []) meta.append(el("span", (names && names[topic.name]) || topic.name, "tag"));
    if (m.hostile) meta.append(el("span", "hostile" + (m.hostility_targets.length ? " → " + m.hostility_targets.join(", ") : ""), "tag hostile"));
    for (const crisis of m.crisis || []) meta.append(el("span", (names && names[crisis.name]) || crisis.name, "tag crisis"));
    const text = el("p", undefined, "post-text");
    for (const [piece, kind] of m.segments || [[m.text, null]]) {
      if (kind) text.append(el("mark", piece, "k-" + kind, { title: kind }));
      else text.append(document.createTextNode(Vigie.clean(piece)));
    }
    item.append(meta, text);
    if (m.url) {
      const link = el("a", "Voir la publication d'origine", undefined, { href: m.url, rel: "noopener noreferrer nofollow", target: "_blank" });
      item.append(link);
    }
    return item;
  }
  return { render };
})();
