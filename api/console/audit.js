// The console's Audit page (admin keys): who read faces or changed what, from GET /audit.
// Loaded after console.js, whose `views`, `api`, `h`, `$` and `when` it uses.
"use strict";

const AUDIT_PER_PAGE = 50;
const auditState = { page: 1 };

function auditQuery() {
  const query = new URLSearchParams({ page: auditState.page, per_page: AUDIT_PER_PAGE });
  for (const name of ["who", "route", "target"]) {
    const value = $("audit-" + name).value.trim();
    if (value) query.set(name, value);
  }
  for (const name of ["since", "until"]) {
    const value = $("audit-" + name).value;
    if (value) query.set(name, new Date(value).toISOString());
  }
  return query;
}

function auditRow(e) {
  const targets = Object.entries(e.targets).map(([name, value]) => `${name}=${value}`).join(" ");
  const failed = e.status >= 400;
  return h("tr", { class: "audit-" + e.kind + (failed ? " failed" : "") },
    h("td", {}, h("time", { datetime: e.at }, when(e.at))),
    h("td", {}, e.who), h("td", {}, e.address), h("td", {}, e.kind),
    h("td", { class: "mono" }, `${e.method} ${e.route}`),
    h("td", { class: "mono" }, targets || "–"),
    h("td", {}, `${e.status} ${e.outcome}`));
}

async function showAudit() {
  const page = await api("/audit?" + auditQuery());
  const rows = page.entries.map(auditRow);
  $("audit-table").tBodies[0].replaceChildren(...(rows.length ? rows
    : [h("tr", {}, h("td", { colspan: 7, class: "empty" }, "No audit rows match."))]));
  $("audit-summary").textContent =
    `${page.total} row${page.total === 1 ? "" : "s"} · page ${page.page} of ${Math.max(page.pages, 1)}`;
  $("audit-prev").disabled = page.page <= 1;
  $("audit-next").disabled = page.page >= page.pages;
}

function auditTurn(step) {
  auditState.page = Math.max(1, auditState.page + step);
  showAudit().catch((error) => flash(error.message, "error"));
}

views.audit = showAudit;
$("audit-form").addEventListener("submit", (event) => {
  event.preventDefault();
  auditState.page = 1;
  showAudit().catch((error) => flash(error.message, "error"));
});
$("audit-prev").addEventListener("click", () => auditTurn(-1));
$("audit-next").addEventListener("click", () => auditTurn(1));
