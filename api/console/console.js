// The operator console: plain JavaScript over the facerec API (docs/console.md).
// Every request carries the key from session storage in X-API-Key; faces are fetched with it
// and shown as blob: URLs, and /events is read with fetch() because EventSource sends no headers.
"use strict";

const KEY_STORAGE = "facerec.apiKey";
const JOBS_STORAGE = "facerec.jobs";
const LIVE_LIMIT = 200;
const FACE_FETCHES = 6; // faces loaded at once

const $ = (id) => document.getElementById(id);
const state = { auth: true, key: null, scope: null, live: [], liveCamera: "", people: [] };

// ---- helpers ---------------------------------------------------------------------------------

/** An element with attributes and children (strings become text: nothing is parsed as HTML). */
function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "class") node.className = value;
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

function headers(extra = {}) {
  return state.key ? { "X-API-Key": state.key, ...extra } : extra;
}

/** Call the API; JSON answers come back parsed, errors as ApiError with the API's message.
 * `json`: an object sent as the JSON body (else `body`, a form). */
async function api(path, { method = "GET", body = null, json = undefined } = {}) {
  const sent = json === undefined ? { body, headers: headers() }
    : { body: JSON.stringify(json), headers: headers({ "Content-Type": "application/json" }) };
  const response = await fetch(path, { method, ...sent });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    if (response.status === 401 && state.key) signOut("The API key was refused; sign in again.");
    throw new ApiError(response.status, data.error || "http_" + response.status,
      data.message || response.statusText);
  }
  return data;
}

function form(fields) {
  const data = new FormData();
  for (const [name, value] of Object.entries(fields)) if (value) data.append(name, value);
  return data;
}

function when(iso) {
  if (!iso) return "never";
  return new Date(iso).toLocaleString([], { dateStyle: "short", timeStyle: "medium" });
}

function ago(iso) {
  const seconds = Math.max(0, (Date.now() - new Date(iso).getTime()) / 1000);
  if (seconds < 60) return Math.round(seconds) + " s ago";
  if (seconds < 3600) return Math.round(seconds / 60) + " min ago";
  if (seconds < 86400) return Math.round(seconds / 3600) + " h ago";
  return Math.round(seconds / 86400) + " d ago";
}

const clock = (iso) => new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });

const score = (value) => (value === null || value === undefined ? "–" : value.toFixed(2));

function flash(message, kind = "info") {
  const node = $("flash");
  node.textContent = message;
  node.className = "flash " + kind;
  node.hidden = false;
  clearTimeout(flash.timer);
  flash.timer = setTimeout(() => (node.hidden = true), 6000);
}

function confirmDialog(text, action = "Delete") {
  const dialog = $("confirm");
  $("confirm-text").textContent = text;
  $("confirm-ok").textContent = action;
  dialog.returnValue = "";
  dialog.showModal();
  return new Promise((resolve) =>
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true }));
}

// ---- faces: fetched with the key, a few at a time, only once visible --------------------------

const faces = { cache: new Map(), queue: [], running: 0 };
const faceObserver = new IntersectionObserver((entries) => {
  for (const entry of entries) {
    if (!entry.isIntersecting) continue;
    faceObserver.unobserve(entry.target);
    faces.queue.push(entry.target);
  }
  pumpFaces();
}, { rootMargin: "200px" });

function pumpFaces() {
  while (faces.running < FACE_FETCHES && faces.queue.length) {
    const img = faces.queue.shift();
    faces.running++;
    loadFace(img.dataset.face).then((url) => (img.src = url))
      .catch(() => img.classList.add("missing"))
      .finally(() => { faces.running--; pumpFaces(); });
  }
}

function loadFace(path) {
  if (!faces.cache.has(path)) {
    faces.cache.set(path, fetch(path, { headers: headers() }).then((response) => {
      if (!response.ok) throw new Error(response.status);
      return response.blob();
    }).then((blob) => URL.createObjectURL(blob)));
  }
  return faces.cache.get(path);
}

/** An <img> of a sighting's face (a grey square when none is kept). */
function face(path, alt = "face") {
  const img = h("img", { class: "face", alt, width: 112, height: 112 });
  if (!path) img.classList.add("missing");
  else if (!state.auth) img.src = path; // no key to send: the browser loads it itself
  else {
    img.dataset.face = path;
    faceObserver.observe(img);
  }
  return img;
}

// ---- sign-in ---------------------------------------------------------------------------------

/** Which scope the key holds, asked of the API itself (null: not a valid key). */
async function probeScope() {
  if (!state.auth) return "admin";
  for (const [path, scope] of [["/model", "admin"], ["/unknowns?limit=1", "review"], ["/dataset", "recognize"]]) {
    const response = await fetch(path, { headers: headers() });
    if (response.ok) return scope;
    if (response.status === 401) return null;
  }
  return null;
}

async function signIn(key) {
  state.key = key;
  const scope = await probeScope();
  if (!scope) {
    state.key = null;
    throw new Error("This API key is not valid.");
  }
  state.scope = scope;
  if (key) sessionStorage.setItem(KEY_STORAGE, key);
  $("signin").hidden = true;
  $("app").hidden = false;
  $("scope").textContent = state.auth ? scope + " key" : "no key needed";
  $("signout").hidden = !state.auth;
  document.body.dataset.scope = scope;
  startStream();
  route();
}

function signOut(message = "") {
  sessionStorage.removeItem(KEY_STORAGE);
  state.key = null;
  stopStream();
  $("app").hidden = true;
  $("signin").hidden = false;
  $("signin-error").textContent = message;
  $("api-key").value = "";
  $("api-key").focus();
}

// ---- routing ---------------------------------------------------------------------------------

const views = {
  live: showLive, people: showPeople, person: showPerson,
  unknowns: showUnknowns, search: () => {}, model: showModel,
};

function route() {
  if ($("app").hidden) return;
  const [name, ...rest] = (location.hash.slice(1) || "live").split("/");
  const view = views[name] ? name : "live";
  if (view !== state.view) $("flash").hidden = true; // a message belongs to the page it came from
  state.view = view;
  for (const section of document.querySelectorAll(".view")) section.hidden = section.id !== "view-" + view;
  for (const link of document.querySelectorAll("#nav a")) {
    link.classList.toggle("active", link.dataset.view === (view === "person" ? "people" : view));
  }
  views[view](decodeURIComponent(rest.join("/"))).catch((error) => flash(error.message, "error"));
}

// ---- Live ------------------------------------------------------------------------------------

const trackKey = (t) => (t.camera_id || "") + "/" + t.id;

/** A track's card: who (or unknown), the score against the threshold, how many frames decided
 * it, its crops, first and last seen, live or ended. Replaced in place when its events come. */
function trackCard(t) {
  const named = t.label !== "unknown";
  const verdict = t.threshold === null || t.threshold === undefined ? "no model yet"
    : !named && t.score >= t.threshold ? `${score(t.score)}, unknown by an operator's correction`
    : `${score(t.score)} ${t.score >= t.threshold ? "≥" : "<"} ${score(t.threshold)}`;
  const frames = `decided from ${t.faces} frame${t.faces === 1 ? "" : "s"}`;
  return h("figure", { class: "track" + (named ? "" : " unknown") + (t.ended ? " ended" : " open"),
    "data-key": trackKey(t), "data-track": t.id, "data-camera": t.camera_id || "", "data-label": t.label },
    h("span", { class: "state" }, t.ended ? "ended" : "live"),
    pickBox("live", trackKey(t), { camera_id: t.camera_id, track_id: t.id }, `select track ${t.id}`),
    face(t.face_url, t.label),
    h("figcaption", {},
      named ? h("a", { class: "name", href: "#person/" + encodeURIComponent(t.label) }, t.label)
        : h("span", { class: "name" }, "unknown"),
      h("span", { class: "meta score" }, "score " + verdict),
      h("span", { class: "meta frames" }, frames),
      h("span", { class: "meta crops" }, `${t.crops} crop${t.crops === 1 ? "" : "s"} · ${t.camera_id || "–"}`),
      h("time", { datetime: t.last_seen_at, title: `first seen ${when(t.first_seen_at)}, last seen ${when(t.last_seen_at)}` },
        clock(t.first_seen_at) === clock(t.last_seen_at) ? clock(t.first_seen_at)
          : `${clock(t.first_seen_at)} – ${clock(t.last_seen_at)}`),
      corrections(`/tracks/${encodeURIComponent(t.camera_id)}/${encodeURIComponent(t.id)}/label`, t.label,
        (answer) => replaceCard(answer.track))));
}

/** A corrected track's card, redrawn in place (its 'label' event redraws it again, the same). */
function replaceCard(t) {
  const index = state.live.findIndex((known) => trackKey(known) === trackKey(t));
  if (index >= 0) state.live[index] = t;
  const old = [...$("live-grid").children].find((card) => card.dataset.key === trackKey(t));
  if (old) old.replaceWith(trackCard(t));
}

// ---- Corrections: "not X", "is Y" (optionally enrolling its good faces), undo -----------------

/** The correction controls of a track or a sighting (`path`: its .../label), for review keys.
 * "Not X" when it names someone; "Is" a person; Undo walks its history back one change. */
function corrections(path, label, after) {
  const who = h("input", { class: "who", list: "people-ids", placeholder: "person id", "aria-label": "who it is",
    pattern: "[A-Za-z0-9][A-Za-z0-9_.\\-]{0,63}" });
  const enrolBox = h("input", { type: "checkbox", class: "enrol" });
  const send = async (suffix, fields, message) => {
    try {
      const answer = await api(path + suffix, { method: "POST", body: form(fields) });
      const c = answer.change;
      flash(message(c));
      after(answer);
    } catch (error) {
      flash(error.message, "error");
    }
  };
  const named = label !== "unknown";
  return h("div", { class: "correct", "data-review": true },
    named ? h("button", { type: "button", class: "small not-x", title: `keep its faces as not ${label}`,
      onclick: () => send("", { kind: "not", person_id: label },
        (c) => `Not ${c.from}: ${c.negatives} face${c.negatives === 1 ? "" : "s"} kept as negatives; train to apply to new visits.`) },
      "Not " + label) : null,
    h("form", { class: "is-y", onsubmit: (e) => { e.preventDefault(); if (who.value.trim()) {
      send("", { kind: "is", person_id: who.value.trim(), enrol: enrolBox.checked ? "true" : "" },
        (c) => `Now ${c.to}` + (enrolBox.checked ? `: ${c.enrolled} good face${c.enrolled === 1 ? "" : "s"} enrolled.` : "."));
    } } },
      who,
      h("label", { class: "meta", title: "enrol its faces that pass the quality floor" }, enrolBox, "enrol"),
      h("button", { type: "submit", class: "small" }, "Is")),
    h("button", { type: "button", class: "small link undo", title: "undo the last correction",
      onclick: () => send("/undo", {}, (c) => `Undone: back to ${c.to}.`) }, "Undo"));
}

function addCameras(tracks) {
  const select = $("live-camera");
  const known = new Set([...select.options].map((o) => o.value));
  for (const t of tracks) {
    if (t.camera_id && !known.has(t.camera_id)) {
      known.add(t.camera_id);
      select.append(h("option", { value: t.camera_id }, t.camera_id));
    }
  }
}

async function showLive() {
  clearPicks("live");
  const query = new URLSearchParams({ per_page: LIVE_LIMIT });
  if (state.liveCamera) query.set("camera", state.liveCamera);
  loadPeople().catch(() => []);  // the "Is" boxes suggest people
  const page = await api("/tracks?" + query);
  state.live = page.tracks;
  addCameras(state.live);
  $("live-grid").replaceChildren(...state.live.map(trackCard));
  $("live-empty").hidden = state.live.length > 0;
}

/** A track event: a new track's card goes first; a known track's card is replaced in place. */
function onTrackEvent(event) {
  const t = event.track;
  addCameras([t]);
  if (state.liveCamera && t.camera_id !== state.liveCamera) return;
  const grid = $("live-grid");
  const card = trackCard(t);
  card.classList.add(event.kind === "start" ? "new" : "changed");
  const index = state.live.findIndex((known) => trackKey(known) === trackKey(t));
  if (index >= 0) {
    state.live[index] = t;
    const old = [...grid.children].find((node) => node.dataset.key === trackKey(t));
    if (old) { // the same element, so the card stays where the operator is looking
      old.className = card.className;
      Object.assign(old.dataset, card.dataset);
      old.replaceChildren(...card.childNodes);
    }
    return;
  }
  state.live.unshift(t);
  grid.prepend(card);
  while (state.live.length > LIVE_LIMIT) {
    state.live.pop();
    grid.lastChild.remove();
  }
  $("live-empty").hidden = true;
}

// /events read with fetch(): the key goes in a header; reconnects resume from Last-Event-ID.
const stream = { controller: null, lastId: null, retry: 2000 };

function startStream() {
  stopStream();
  if (state.scope === "recognize") {
    $("live-status").textContent = "live updates need a review or admin key";
    return;
  }
  stream.controller = new AbortController();
  readStream(stream.controller.signal);
}

function stopStream() {
  if (stream.controller) stream.controller.abort();
  stream.controller = null;
}

async function readStream(signal) {
  while (!signal.aborted) {
    try {
      const extra = stream.lastId ? { "Last-Event-ID": stream.lastId } : {};
      const response = await fetch("/events", { headers: headers(extra), signal });
      if (!response.ok) throw new Error("the event stream answered " + response.status);
      $("live-status").textContent = "live";
      $("live-status").className = "status ok";
      await parseEvents(response.body, signal);
    } catch (error) {
      if (signal.aborted) return;
      $("live-status").textContent = "reconnecting…";
      $("live-status").className = "status warn";
    }
    await new Promise((resolve) => setTimeout(resolve, stream.retry));
  }
}

async function parseEvents(body, signal) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  signal.addEventListener("abort", () => reader.cancel(), { once: true });
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replace(/\r\n?/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      dispatch(buffer.slice(0, end));
      buffer = buffer.slice(end + 2);
    }
  }
}

function dispatch(block) {
  const event = { event: "message", data: [], id: null };
  for (const line of block.split("\n")) {
    if (!line || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "data") event.data.push(value);
    else if (field === "id") event.id = value;
    else if (field === "event") event.event = value;
    else if (field === "retry" && /^\d+$/.test(value)) stream.retry = Number(value);
  }
  if (event.id) stream.lastId = event.id;
  if (event.event === "track" && event.data.length) onTrackEvent(JSON.parse(event.data.join("\n")));
}

// ---- People ----------------------------------------------------------------------------------

async function loadPeople() {
  state.people = (await api("/dataset")).face_ids;
  $("people-ids").replaceChildren(...state.people.map((p) => h("option", { value: p.id_name })));
  return state.people;
}

async function showPeople() {
  const people = await loadPeople();
  const list = $("people-list");
  if (!people.length) {
    list.replaceChildren(h("p", { class: "empty" }, "Nobody is enrolled yet."));
    return;
  }
  list.replaceChildren(...people.map((p) => h("article", { class: "person card", "data-person": p.id_name },
    h("span", { class: "avatar" }, p.id_name.slice(0, 2).toUpperCase()),
    h("a", { class: "name", href: "#person/" + encodeURIComponent(p.id_name) }, p.id_name),
    h("span", { class: "meta" }, p.number_of_images + (p.number_of_images === 1 ? " photo" : " photos"),
      h("span", { class: "qualities", title: "each photo's face quality (0-1: size x detector confidence)" })),
    h("button", { type: "button", class: "danger small", "data-admin": true, onclick: () => deletePerson(p.id_name) }, "Delete"))));
  await Promise.all(people.map((p) => showQualities(p.id_name)));
}

/** Each enrolment photo's face quality on the person's card ("–": enrolled before qualities were
 * kept). */
async function showQualities(personId) {
  const body = await api(`/dataset/${encodeURIComponent(personId)}/images`).catch(() => null);
  const cell = document.querySelector(`[data-person="${CSS.escape(personId)}"] .qualities`);
  if (!body || !cell) return;
  cell.replaceChildren("quality", ...body.images.map((image) => h("span", { class: "quality", "data-image": image.image_id },
    image.quality === null ? "–" : image.quality.toFixed(2))));
}

async function deletePerson(personId) {
  if (!await confirmDialog(`Delete ${personId} with every photo and sighting? This cannot be undone.`)) return;
  const done = await api("/dataset/" + encodeURIComponent(personId), { method: "DELETE" })
    .then(() => personId + " was deleted.", (error) => error);
  location.hash = "#people";
  route();
  if (done instanceof Error) flash(done.message, "error");
  else flash(done);
}

/** Enrol: check each photo for look-alikes, then save it (creating the person with the first
 * photo saved: an existing one is fine) and say why it was accepted or refused. Nothing is
 * written before its check, so a "no" to every photo leaves no empty person behind. */
async function enrol(event) {
  event.preventDefault();
  const personId = $("enrol-id").value.trim();
  const files = [...$("enrol-files").files];
  const results = $("enrol-results");
  if (!files.length) {
    results.replaceChildren(h("li", { class: "refused" }, "Choose or drop at least one photo."));
    return;
  }
  results.replaceChildren();
  let created = false;
  for (const file of files) {
    const row = h("li", { class: "pending" }, h("img", { class: "thumb", alt: "", src: URL.createObjectURL(file) }),
      h("span", { class: "file" }, file.name), h("span", { class: "reason" }, "uploading…"));
    results.append(row);
    try {
      row.lastChild.textContent = "checking for look-alikes…";
      if (!await lookAlikeCheck(personId, file, row)) continue;
      if (!created) created = await createPerson(personId);
      row.lastChild.textContent = "uploading…";
      const body = await api(`/dataset/${encodeURIComponent(personId)}/image`, { method: "POST", body: form({ image: file }) });
      row.className = "accepted";
      const bystanders = body.faces_found > 1 ? ` (${body.faces_found} faces; the main one enrolled)` : "";
      row.lastChild.textContent = (body.created ? "accepted" : "already enrolled") + bystanders + ` · quality ${body.quality.toFixed(2)}` +
        body.warnings.map((w) => ` · looks like ${w.looks_like} (${score(w.score)})`).join("");
    } catch (error) {
      row.className = "refused";
      row.lastChild.textContent = `refused: ${error.message} (${error.code})`;
    }
  }
  $("enrol-files").value = "";
  await showPeople();
  if (created) flash(`Enrolment of ${personId} done: train the model so it recognises them.`);
  else flash(`Nothing was saved for ${personId}.`, "error");
}

/** The person, created (true); one who exists already is fine. */
async function createPerson(personId) {
  try {
    await api("/dataset/" + encodeURIComponent(personId), { method: "POST" });
  } catch (error) {
    if (error.code !== "already_exists") throw error;
  }
  return true;
}

/** Look-alike warnings in words: each person once, at their best score. */
function lookAlikeWords(warnings) {
  const best = new Map();
  for (const w of warnings) if (!best.has(w.looks_like) || best.get(w.looks_like).score < w.score) best.set(w.looks_like, w);
  return [...best.values()].map((w) => `${w.looks_like} (score ${score(w.score)}, warning at ${score(w.threshold)})`).join(", ");
}

/** Before saving a photo: does its face look like someone else enrolled (the same person under
 * another id?). Asks "Save anyway?"; false when the operator says no (the row says so). */
async function lookAlikeCheck(personId, file, row) {
  const body = await api(`/dataset/${encodeURIComponent(personId)}/look-alike-check`, { method: "POST", body: form({ image: file }) });
  if (!body.warnings.length) return true;
  if (await confirmDialog(`${file.name} looks like ${lookAlikeWords(body.warnings)}, already enrolled. Is ${personId} the same person enrolled twice? Save anyway?`, "Save anyway")) return true;
  row.className = "refused";
  row.lastChild.textContent = `not saved: looks like ${body.warnings.map((w) => w.looks_like).join(", ")}`;
  return false;
}

function timelineItem(s, extra = []) {
  return h("li", { class: "event", "data-id": s.id },
    face(s.face_url, s.label),
    h("div", {},
      h("time", { datetime: s.recognized_at }, when(s.recognized_at)),
      h("span", { class: "meta" }, `camera ${s.camera_id || "–"} · location ${s.location_id || "–"}`),
      h("span", { class: "meta" }, `${s.label} · score ${score(s.score)}`),
      ...extra));
}

async function showPerson(personId) {
  $("person-name").textContent = personId;
  $("person-delete").onclick = () => deletePerson(personId);
  const id = encodeURIComponent(personId);
  // Everything the page shows is read first, so its location and timeline appear together.
  const [where, page] = await Promise.all([
    api(`/database/${id}/last-known-location`),
    api(`/recognitions?person=${id}&per_page=100`),
    loadPeople().catch(() => []),
  ]);
  $("person-location").textContent = where.recognized_at
    ? `Last seen ${ago(where.recognized_at)} (${when(where.recognized_at)}) at location ${where.location_id || "–"}, camera ${where.camera_id || "–"}.`
    : "Never seen by a camera.";
  $("person-timeline").replaceChildren(...page.recognitions.map((s) => timelineItem(s,
    [corrections(`/recognitions/${s.id}/label`, s.label, () => showPerson(personId))])));
  $("person-empty").hidden = page.recognitions.length > 0;
}

// ---- Unknowns --------------------------------------------------------------------------------

async function showUnknowns() {
  clearPicks("unknowns");
  const [page] = await Promise.all([api("/unknowns?limit=100"), loadPeople().catch(() => [])]);
  $("unknowns-total").textContent = `${page.total} group${page.total === 1 ? "" : "s"}`;
  $("unknowns-empty").hidden = page.groups.length > 0;
  $("unknowns-list").replaceChildren(...page.groups.map(groupCard));
}

function groupCard(group) {
  const name = h("input", { list: "people-ids", placeholder: "new or existing person", required: true,
    pattern: "[A-Za-z0-9][A-Za-z0-9_.\\-]{0,63}", "aria-label": "person id" });
  const strip = h("div", { class: "strip" });
  return h("article", { class: "group card", "data-group": group.id, "data-size": group.size },
    pickBox("unknowns", String(group.id), group.id, `select group ${group.id}`),
    face(group.face_url, "unknown"),
    h("div", { class: "about" },
      h("strong", {}, `${group.size} sighting${group.size === 1 ? "" : "s"}`),
      h("span", { class: "meta" }, `last seen ${ago(group.last_seen_at)} · first ${when(group.first_seen_at)}`),
      h("span", { class: "meta" }, "cameras: " + (group.cameras.join(", ") || "–")),
      h("button", { type: "button", class: "link", onclick: (e) => showGroupFaces(group.id, strip, e.target) }, "show faces")),
    h("form", { class: "name-group", "data-admin": true, onsubmit: (e) => { e.preventDefault(); enrolGroups([group.id], name.value.trim()); } },
      name, h("button", { type: "submit" }, "Name")),
    h("button", { type: "button", class: "danger small", "data-admin": true, onclick: () => dismissGroup(group) }, "Dismiss"),
    strip);
}

async function showGroupFaces(groupId, strip, button) {
  const group = await api("/unknowns/" + groupId);
  strip.replaceChildren(...releasableFaces(group));
  button.remove();
}

async function dismissGroup(group) {
  if (!await confirmDialog(`Dismiss this group? Its ${group.size} sightings and their faces are deleted.`, "Dismiss")) return;
  await api("/unknowns/" + group.id, { method: "DELETE" }).catch((error) => flash(error.message, "error"));
  await showUnknowns();
}

// ---- Search ----------------------------------------------------------------------------------

async function search(event) {
  event.preventDefault();
  const file = $("search-file").files[0];
  if (!file) {
    flash("Choose or drop a photo to search for.", "error");
    return;
  }
  $("search-preview").src = URL.createObjectURL(file);
  $("search-preview").hidden = false;
  $("search-summary").textContent = "searching…";
  try {
    const found = await api("/recognitions/search", {
      method: "POST", body: form({ image: file, camera_id: $("search-camera").value.trim(), limit: 100 }),
    });
    const matches = found.results.filter((r) => r.match)
      .sort((a, b) => b.recognized_at.localeCompare(a.recognized_at));
    const others = found.results.filter((r) => !r.match);
    $("search-summary").textContent = `${matches.length} sighting${matches.length === 1 ? "" : "s"} of this face among ${found.searched} (match from score ${score(found.threshold)}).`;
    $("search-timeline").replaceChildren(...matches.map((r) => timelineItem(r)));
    $("search-others").replaceChildren(...others.map((r) => timelineItem(r)));
    $("search-others-title").hidden = others.length === 0;
  } catch (error) {
    $("search-summary").textContent = `${error.message} (${error.code})`;
    $("search-timeline").replaceChildren();
    $("search-others").replaceChildren();
  }
}

// ---- Model -----------------------------------------------------------------------------------

const jobIds = () => JSON.parse(sessionStorage.getItem(JOBS_STORAGE) || "[]");

async function showModel() {
  if (state.scope !== "admin") {
    $("model-info").replaceChildren(h("dt", {}, "model"), h("dd", {}, "an admin key is needed to see and train the model"));
    return;
  }
  const model = await api("/model");
  state.modelVersion = model.model_version;
  $("model-info").replaceChildren(
    h("dt", {}, "active version"), h("dd", { id: "model-version" }, model.model_version || "not trained yet"),
    h("dt", {}, "trained"), h("dd", {}, when(model.trained_at)),
    h("dt", {}, `people (${model.people.length})`), h("dd", { class: "chips" }, ...model.people.map((p) => h("a", { class: "chip", href: "#person/" + encodeURIComponent(p) }, p))),
    h("dt", {}, "kept versions"), h("dd", {}, model.versions.length ? model.versions.join(", ") : "–"));
  $("rollback").disabled = !model.model_version;
  await showJobs();
}

async function showJobs() {
  const jobs = await Promise.all(jobIds().map((id) => api("/model/jobs/" + id).catch(() => null)));
  const rows = jobs.filter(Boolean).reverse().map((job) => h("tr", { "data-job": job.id, "data-state": job.state },
    h("td", {}, "#" + job.id), h("td", {}, job.kind),
    h("td", {}, h("span", { class: "state " + job.state }, job.state), job.error ? h("span", { class: "meta" }, " " + job.error) : null),
    h("td", {}, when(job.started_at)), h("td", {}, job.finished_at ? when(job.finished_at) : "–"),
    h("td", {}, job.model_version || "–")));
  $("jobs").tBodies[0].replaceChildren(...(rows.length ? rows : [h("tr", {}, h("td", { colspan: 6, class: "empty" }, "No jobs started from this console yet."))]));
  clearTimeout(showJobs.timer);
  if (jobs.some((job) => job && (job.state === "queued" || job.state === "running"))) {
    showJobs.timer = setTimeout(() => (location.hash === "#model" ? showModel() : null), 1000);
  }
}

async function startTraining(kind) {
  try {
    const job = await api(`/model/${kind}`, { method: "POST" });
    sessionStorage.setItem(JOBS_STORAGE, JSON.stringify([...jobIds(), job.id].slice(-20)));
    flash(`Training job #${job.id} started.`);
  } catch (error) {
    flash(error.message, "error");
  }
  await showModel();
}

async function rollback() {
  const from = state.modelVersion;
  if (!await confirmDialog(`Roll back from ${from} to the version before it?`, "Roll back")) return;
  await api("/model/rollback?from=" + encodeURIComponent(from), { method: "POST" })
    .then((model) => flash("Now serving " + model.model_version), (error) => flash(error.message, "error"));
  await showModel();
}

// ---- start -----------------------------------------------------------------------------------

function dropZones() {
  for (const zone of document.querySelectorAll("[data-drop]")) {
    const input = $(zone.dataset.drop);
    zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("over"); });
    zone.addEventListener("dragleave", () => zone.classList.remove("over"));
    zone.addEventListener("drop", (e) => {
      e.preventDefault();
      zone.classList.remove("over");
      const transfer = new DataTransfer();
      for (const file of e.dataTransfer.files) {
        if (input.multiple || !transfer.files.length) transfer.items.add(file);
      }
      input.files = transfer.files;
      input.dispatchEvent(new Event("change"));
    });
    input.addEventListener("change", () => zone.classList.toggle("filled", input.files.length > 0));
  }
}

async function start() {
  dropZones();
  $("signin-form").addEventListener("submit", (event) => {
    event.preventDefault();
    signIn($("api-key").value.trim()).catch((error) => ($("signin-error").textContent = error.message));
  });
  $("signout").addEventListener("click", () => signOut());
  $("enrol-form").addEventListener("submit", (e) => enrol(e).catch((error) => flash(error.message, "error")));
  $("search-form").addEventListener("submit", search);
  $("live-camera").addEventListener("change", (e) => { state.liveCamera = e.target.value; showLive(); });
  $("train").addEventListener("click", () => startTraining("train"));
  $("optimized-train").addEventListener("click", () => startTraining("optimized-train"));
  $("rollback").addEventListener("click", rollback);
  window.addEventListener("hashchange", route);

  const config = await fetch("/console/config").then((r) => r.json());
  state.auth = config.auth;
  $("auth-banner").hidden = state.auth;
  const saved = sessionStorage.getItem(KEY_STORAGE);
  if (!state.auth || saved) {
    await signIn(state.auth ? saved : null).catch(() => signOut("Sign in again."));
  } else {
    signOut();
  }
}

start();
