// Many cards at once, and groups put right (loaded after console.js, whose helpers it uses).
// Live: tick tracks, say "This is <person>" once (POST /corrections/bulk: all or none; each
// track keeps its own change to undo). Unknowns: tick groups to merge them, or to enrol them as
// one person after a look-alike check; tick faces in a group's strip that are someone else to
// move their tracks into a new group.
"use strict";

/** What is ticked on each page: a card's key -> what the bulk request needs of it. */
const picked = { live: new Map(), unknowns: new Map() };

/** A card's tick box (review keys and up). */
function pickBox(page, key, value, label) {
  return h("input", { type: "checkbox", class: "pick", "data-review": true, "aria-label": label,
    title: "select for the action above", checked: picked[page].has(key),
    onchange: (e) => {
      if (e.target.checked) picked[page].set(key, value); else picked[page].delete(key);
      showBulkBar(page);
    } });
}

function clearPicks(page) {
  picked[page].clear();
  for (const box of document.querySelectorAll(`#view-${page} .pick`)) box.checked = false;
  showBulkBar(page);
}

function showBulkBar(page) {
  const count = picked[page].size;
  const noun = page === "live" ? "track" : "group";
  $(page + "-bulk").hidden = count === 0;
  $(page + "-picked").textContent = `${count} ${noun}${count === 1 ? "" : "s"} selected`;
  if (page === "unknowns") $("unknowns-merge").disabled = count < 2;
}

// ---- Live: "these tracks are all <person>" ----------------------------------------------------

async function assignPicked(event) {
  event.preventDefault();
  const person = $("live-bulk-who").value.trim();
  const enrol = $("live-bulk-enrol").checked;
  try {
    const answer = await api("/corrections/bulk", { method: "POST",
      json: { person_id: person, enrol, tracks: [...picked.live.values()] } });
    clearPicks("live");
    answer.tracks.forEach(replaceCard);
    const enrolled = answer.changes.reduce((sum, c) => sum + c.enrolled, 0);
    const count = answer.tracks.length;
    flash(`${count} track${count === 1 ? " is" : "s are"} now ${person}` +
      (enrol ? `: ${enrolled} good face${enrolled === 1 ? "" : "s"} enrolled` : "") + ". Undo each on its card.");
  } catch (error) {
    flash(error.message, "error");
  }
}

// ---- Unknowns: merge groups, enrol them after a look-alike check, move faces out ---------------

/** The ticked groups in the page's order (largest first: the first is merged into). */
const pickedGroups = () => [...document.querySelectorAll("#unknowns-list .group")]
  .map((card) => card.dataset.group).filter((id) => picked.unknowns.has(id)).map(Number);

const merge = (into, others) => api(`/unknowns/${into}/merge`, { method: "POST", json: { groups: others } });

async function mergePicked() {
  const [into, ...others] = pickedGroups();
  try {
    const answer = await merge(into, others);
    flash(`Merged ${others.length + 1} groups into one: ${answer.group.size} sightings.`);
  } catch (error) {
    flash(error.message, "error");
  }
  await showUnknowns();
}

/** Enrol groups as one person. Their faces are checked for look-alikes BEFORE anything is
 * written ("Save anyway?"); then several groups are merged, and the one left is enrolled. */
async function enrolGroups(ids, personId) {
  try {
    const checks = await Promise.all(ids.map((id) => api(`/unknowns/${id}/look-alike-check`,
      { method: "POST", body: form({ person_id: personId }) })));
    const warnings = checks.flatMap((check) => check.warnings);
    const these = ids.length === 1 ? "This group's faces look" : "These groups' faces look";
    if (warnings.length && !await confirmDialog(`${these} like ${lookAlikeWords(warnings)}, already enrolled. ` +
        `Is ${personId} the same person enrolled twice? Save anyway?`, "Save anyway")) {
      flash(`Not saved: the faces look like ${[...new Set(warnings.map((w) => w.looks_like))].join(", ")}.`, "error");
      return;
    }
    const [into, ...others] = ids;
    if (others.length) await merge(into, others);
    const named = await api(`/unknowns/${into}/enrol`, { method: "POST", body: form({ person_id: personId }) });
    flash(`${named.person_id}: ${named.images_added} faces enrolled, ${named.sightings_named} sightings named. Train to recognise them.`);
  } catch (error) {
    flash(error.message, "error");
  }
  await showUnknowns();
}

/** A group's faces, each with a tick box, and "Someone else" to move the ticked ones (their
 * whole tracks) into a new group. */
function releasableFaces(group) {
  const tiles = group.faces.map((s) => h("label", { class: "face-pick", title: "tick if this is someone else" },
    h("input", { type: "checkbox", "data-sighting": s.id, "data-review": true, "aria-label": `face ${s.id}` }),
    face(s.face_url, "unknown")));
  if (group.faces.length < 2) return tiles;
  return [...tiles, h("button", { type: "button", class: "small release", "data-review": true,
    onclick: (e) => releaseFaces(group.id, e.target.parentNode) }, "Someone else: move ticked faces out")];
}

async function releaseFaces(groupId, strip) {
  const sightings = [...strip.querySelectorAll("input[data-sighting]:checked")].map((box) => Number(box.dataset.sighting));
  if (!sightings.length) {
    flash("Tick the faces that are someone else first.", "error");
    return;
  }
  try {
    const answer = await api(`/unknowns/${groupId}/release`, { method: "POST", json: { sightings } });
    const moved = answer.sightings_moved;
    flash(`${moved} sighting${moved === 1 ? "" : "s"} (whole tracks) moved to a new group of their own.`);
  } catch (error) {
    flash(error.message, "error");
  }
  await showUnknowns();
}

$("live-bulk").addEventListener("submit", assignPicked);
$("live-bulk-clear").addEventListener("click", () => clearPicks("live"));
$("unknowns-merge").addEventListener("click", mergePicked);
$("unknowns-bulk-enrol").addEventListener("submit", (e) => {
  e.preventDefault();
  enrolGroups(pickedGroups(), $("unknowns-bulk-who").value.trim());
});
$("unknowns-bulk-clear").addEventListener("click", () => clearPicks("unknowns"));
