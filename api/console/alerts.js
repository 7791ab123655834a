// The Alerts page (loaded after console.js, whose helpers it uses): the rules (admin keys
// create and delete them), a form for a new rule, and the recent alerts with an Ack button.
"use strict";

const WEEKDAY_NAMES = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const listOf = (text) => text.split(",").map((s) => s.trim()).filter(Boolean);

/** A rule in words: who, where, when, then the cooldown and where it is POSTed. */
function ruleSummary(rule) {
  const who = [...rule.people, ...rule.tags.map((t) => "tag " + t),
    ...(rule.unknown ? ["any stranger"] : []), ...rule.unknown_groups.map((g) => "stranger group #" + g)];
  const where = [...rule.cameras.map((c) => "camera " + c), ...rule.locations.map((l) => "location " + l)];
  const days = rule.weekdays.length ? rule.weekdays.join(" ") : "every day";
  const hours = rule.start ? `${rule.start}–${rule.end}` : "all day";
  return `${who.join(", ") || "anyone"} · ${where.join(", ") || "any camera"} · ${days}, ${hours}`;
}

function ruleRow(rule) {
  const remove = state.scope === "admin"
    ? h("button", { class: "danger small", type: "button", onclick: () => deleteRule(rule) }, "Delete") : null;
  return h("li", { class: "card rule", "data-rule": rule.id },
    h("strong", {}, rule.name), h("span", { class: "meta" }, ruleSummary(rule)),
    h("span", { class: "meta" }, `cooldown ${rule.cooldown_seconds} s · ${rule.destination || "no webhook"}`), remove);
}

function alertRow(alert) {
  const t = alert.track;
  const ack = alert.acked_at
    ? h("span", { class: "meta" }, "acknowledged " + ago(alert.acked_at))
    : h("button", { type: "button", class: "small", onclick: () => ackAlert(alert.id) }, "Ack");
  return h("li", { class: "card alert" + (alert.acked_at ? " acked" : ""), "data-alert": alert.id },
    t.face_url ? face(t.face_url, alert.subject) : h("div", { class: "noface" }, "?"),
    h("div", {}, h("strong", {}, alert.subject === "unknown" ? "Unknown person" : alert.subject),
      h("div", { class: "meta" }, `${alert.rule_name} · ${alert.camera_id}${t.location_id ? " / " + t.location_id : ""}`),
      h("div", { class: "meta" }, `${when(alert.at)} · track ${t.id}, ${t.crops} crops`)),
    ack);
}

async function showAlerts() {
  const admin = state.scope === "admin";
  $("alert-rule-form").hidden = !admin;
  const [rules, alerts] = await Promise.all([
    admin ? api("/alerts/rules") : Promise.resolve({ rules: [] }),
    api("/alerts?limit=50"),
  ]);
  $("alert-rules").replaceChildren(...rules.rules.map(ruleRow));
  $("alert-rules-empty").hidden = !admin || rules.rules.length > 0;
  $("alerts-list").replaceChildren(...alerts.alerts.map(alertRow));
  $("alerts-empty").hidden = alerts.alerts.length > 0;
  $("alerts-total").textContent = `${alerts.total} alert${alerts.total === 1 ? "" : "s"}`;
  pumpFaces();
}

function ruleFromForm(f) {
  const rule = { name: f.name.value.trim(), people: listOf(f.people.value), tags: listOf(f.tags.value),
    unknown: f.unknown.checked, cameras: listOf(f.cameras.value), locations: listOf(f.locations.value),
    weekdays: WEEKDAY_NAMES.filter((d) => f["day-" + d].checked),
    cooldown_seconds: Number(f.cooldown.value || 60) };
  if (f.start.value || f.end.value) Object.assign(rule, { start: f.start.value, end: f.end.value });
  if (f.destination.value.trim()) rule.destination = f.destination.value.trim();
  return rule;
}

async function createRule(event) {
  event.preventDefault();
  const response = await fetch("/alerts/rules", { method: "POST", headers: headers({ "Content-Type": "application/json" }),
    body: JSON.stringify(ruleFromForm(event.target)) });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) return flash(data.message || response.statusText, "error");
  event.target.reset();
  flash(`Rule “${data.name}” created.`);
  await showAlerts();
}

async function deleteRule(rule) {
  if (!await confirmDialog(`Delete the rule “${rule.name}”? Its alerts stay.`)) return;
  await api("/alerts/rules/" + rule.id, { method: "DELETE" }).catch((error) => flash(error.message, "error"));
  await showAlerts();
}

async function ackAlert(id) {
  await api(`/alerts/${id}/ack`, { method: "POST" }).catch((error) => flash(error.message, "error"));
  await showAlerts();
}

views.alerts = showAlerts;
$("alert-rule-form").addEventListener("submit", (e) => createRule(e).catch((error) => flash(error.message, "error")));
