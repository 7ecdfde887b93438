// Posting desk: the policy in force, held posts with why they were held, the queue; approve, release,
// cancel under the logged-in account (the server refuses a second approval by the same account).
"use strict";
(() => {
  const { el, when, getJSON, send, can, LEVEL } = Vigie;
  const ACTION = { add: "ajoutée", hold: "retenue", approve: "approuvée", release: "remise en file", cancel: "annulée",
                   publish: "publiée", published: "publiée", "published-dry-run": "publiée (simulation)", needs_approval: "approbation requise", held: "retenue" };

  function button(label, cls, handler) {
    const b = el("button", label, cls, { type: "button" });
    b.addEventListener("click", async () => {
      b.disabled = true;
      try { const result = await handler(); Vigie.notice(result.message || "Fait.", "ok"); await load(); }
      catch (error) { b.disabled = false; }
    });
    return b;
  }
  function actions(post, me) {
    const box = el("div", undefined, "post-actions");
    if (!can("posts")) return box;
    const approved = (post.approvals || []).some(a => a.approver.toLowerCase() === (me || "").toLowerCase());
    if (post.state === "held" || (post.state === "scheduled" && post.needs_approval)) {
      const b = button(approved ? "Déjà approuvée par vous" : "Approuver", "", () => send("POST", `/api/posts/${post.id}/approve`));
      b.disabled = approved; b.dataset.action = "approve"; box.append(b);
    }
    if (post.state === "failed") box.append(button("Remettre en file", "secondary", () => send("POST", `/api/posts/${post.id}/release`)));
    if (post.state === "held" || post.state === "scheduled") {
      const b = button("Annuler", "danger", () => { if (!confirm("Annuler cette publication ?")) throw new Error("non"); return send("POST", `/api/posts/${post.id}/cancel`); });
      b.dataset.action = "cancel"; box.append(b);
    }
    return box;
  }
  function approvals(post) {
    const names = (post.approvals || []).map(a => a.approver);
    const needed = post.approvals_needed || 0;
    if (!needed && !names.length) return null;
    return el("div", `Approbations : ${names.length ? names.join(", ") : "aucune"}` + (needed ? ` (${Math.min(names.length, needed)}/${needed})` : ""), "approvals");
  }
  async function load() {
    const data = await getJSON("/api/desk");
    const policy = data.policy;
    const box = document.getElementById("policy"); box.replaceChildren();
    box.append(el("p", `Niveau ${LEVEL[policy.state] || policy.state} · mode ${policy.mode === "live" ? "réel" : "simulation (rien ne part)"}`));
    box.append(el("p", "Retenues d'office : " + (policy.held_labels.join(", ") || "aucune catégorie"), "meta"));
    box.append(el("p", "Approbation d'une seconde personne : " + (policy.approval_labels.join(", ") || "aucune catégorie"), "meta"));
    if (policy.max_per_hour !== null) box.append(el("p", `Au plus ${policy.max_per_hour} publication(s) par heure et par compte.`, "meta"));
    const held = document.getElementById("held"); held.replaceChildren();
    const heldPosts = data.posts.filter(p => p.state === "held");
    if (!heldPosts.length) held.append(el("li", "Aucune publication retenue.", "meta"));
    for (const post of heldPosts) {
      const li = el("li", undefined, "held-post"); li.dataset.id = String(post.id);
      li.append(el("div", `${post.category_label} · ${post.channel} · prévue le ${when(post.scheduled_at)} · par ${post.author}`, "meta"));
      li.append(el("p", post.text, "post-text"));
      li.append(el("div", "Pourquoi : " + (post.held_reason || "retenue"), "meta"));
      const a = approvals(post); if (a) li.append(a);
      li.append(actions(post, data.me));
      held.append(li);
    }
    const body = document.querySelector("#queue tbody"); body.replaceChildren();
    const queue = data.posts.filter(p => p.state !== "held");
    if (!queue.length) Vigie.empty(body, 6, "Aucune publication programmée.");
    for (const post of queue) {
      const row = el("tr"); row.dataset.id = String(post.id);
      const text = el("td"); text.append(el("div", post.text, "post-text"));
      const a = approvals(post); if (a) text.append(a);
      if (post.last_error) text.append(el("div", post.last_error, "meta"));
      const last = (post.events || []).slice(-1)[0];
      const stateCell = el("td", post.state_label, "post-state " + post.state);
      if (last) stateCell.append(el("div", `${ACTION[last.action] || last.action} par ${last.actor}, ${when(last.at)}`, "meta"));
      const act = el("td"); act.append(actions(post, data.me));
      row.append(el("td", when(post.scheduled_at)), el("td", post.category_label), el("td", post.channel), text, stateCell, act);
      body.append(row);
    }
  }
  Vigie.crisisBadge(); load().catch(error => Vigie.notice("Bureau indisponible : " + error.message));
})();
