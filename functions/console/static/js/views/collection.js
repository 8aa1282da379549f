// One collection: upload photos (presigned PUTs, progress, live status), browse them with their faces, users.
import { putWithProgress } from "../api.js";
import { allowed, refusalPanel, state } from "../access.js";
import { clear, confirmDialog, errorBox, h } from "../dom.js";
import { drawFaces, dropZone, fileToBase64, forgetImage, imageFiles, ownImage } from "../images.js";

const FINAL_WAIT_MS = 120000;
const PARALLEL_UPLOADS = 3;

export async function collectionView(main, collectionId) {
  const status = h("div", { "aria-live": "polite", id: "collection-status" });
  let description;
  try {
    description = await state.api.describeCollection(collectionId);
  } catch (err) {
    clear(main, h("h1", {}, collectionId), errorBox(err, "Could not open the collection"));
    return;
  }
  const counts = h("p", { id: "collection-counts" });
  const showCounts = (d) => clear(counts, `${d.face_count} faces · ${d.user_count} users · model ${d.face_model_version}`);
  showCounts(description);
  const refreshCounts = async () => { try { showCounts(await state.api.describeCollection(collectionId)); } catch { /* keep */ } };

  const photos = photosSection(collectionId, status, refreshCounts);
  const upload = allowed("index") ? uploadSection(collectionId, status, () => { photos.reload(); refreshCounts(); })
    : refusalPanel("index", "Uploading photos for indexing");
  const users = allowed("users") ? usersSection(collectionId, status, photos) : refusalPanel("users", "Grouping faces into users");
  const panels = { photos: h("div", { id: "panel-photos", role: "tabpanel", "aria-labelledby": "tab-photos" }, upload, photos.el),
    users: h("div", { id: "panel-users", role: "tabpanel", "aria-labelledby": "tab-users", hidden: true }, users) };
  const tabs = h("div", { class: "tabs", role: "tablist", "aria-label": "Collection views" },
    Object.keys(panels).map((name) => h("button", { type: "button", role: "tab", id: `tab-${name}`,
      "aria-controls": `panel-${name}`, "aria-selected": name === "photos" ? "true" : "false",
      onclick: () => select(name) }, name === "photos" ? "Photos" : "Users")));
  function select(name) {
    for (const [key, panel] of Object.entries(panels)) {
      panel.hidden = key !== name;
      document.getElementById(`tab-${key}`).setAttribute("aria-selected", key === name ? "true" : "false");
    }
  }
  clear(main, h("p", {}, h("a", { href: "#/collections" }, "← Collections")),
    h("h1", {}, `Collection ${collectionId}`), counts, status, tabs, panels.photos, panels.users);
  await photos.reload();
}

// ---------------------------------------------------------------- upload
function uploadSection(collectionId, status, onFinal) {
  const input = h("input", { type: "file", id: "upload-input", multiple: true, accept: "image/jpeg,image/png" });
  const zone = h("div", { class: "drop", id: "upload-drop" },
    h("p", {}, h("strong", {}, "Drop photos here"), " (JPEG or PNG, up to 15 MB each), or choose them:"),
    h("label", { for: "upload-input", class: "visually-hidden" }, "Photos to upload"), input);
  const list = h("ul", { class: "uploads", id: "uploads", "aria-label": "Uploads and their indexing status" });
  const queue = [];
  let running = 0;

  dropZone(zone, input, (files) => {
    const { ok, refused } = imageFiles(files);
    for (const file of refused) {
      list.append(h("li", {}, h("span", {}, file.name), h("span", {}),
        h("span", { class: "status FAILED" }, "not uploaded: only JPEG and PNG photos can be indexed")));
    }
    for (const file of ok) queue.push(file);
    pump();
  });

  function pump() {
    while (running < PARALLEL_UPLOADS && queue.length) {
      running += 1;
      uploadOne(queue.shift()).finally(() => { running -= 1; pump(); });
    }
  }

  async function uploadOne(file) {
    const bar = h("progress", { max: "1", value: "0", "aria-label": `Upload of ${file.name}` });
    const label = h("span", { class: "status UPLOADING" }, "uploading");
    const row = h("li", { "data-file": file.name }, h("span", {}, file.name), bar, label);
    list.append(row);
    const set = (text, cls) => { label.textContent = text; label.className = `status ${cls}`; };
    try {
      const ticket = await state.api.createUpload(collectionId, file, externalId(file.name));
      row.dataset.image = ticket.image_id;
      await putWithProgress(ticket, file, (f) => { bar.value = f; });
      bar.value = 1;
      set("PENDING: indexing…", "PENDING");
      const final = await waitFinal(collectionId, ticket.image_id);
      row.dataset.status = final.status;
      set(describeStatus(final), final.status);
      onFinal();
    } catch (err) {
      set(`${err.code || "ERROR"}: ${err.message}`, "FAILED");
    }
  }

  return h("section", { class: "card", "aria-labelledby": "upload-title" },
    h("h2", { id: "upload-title" }, "Upload photos"), zone, list);
}

function externalId(name) {
  const cleaned = name.replace(/[^a-zA-Z0-9_.\-:]/g, "_").slice(0, 255);
  return cleaned || undefined;
}

async function waitFinal(collectionId, imageId) {
  const started = Date.now();
  let delay = 500;
  while (Date.now() - started < FINAL_WAIT_MS) {
    try {
      const s = await state.api.imageStatus(collectionId, imageId);
      if (s.status !== "PENDING") return s;
    } catch (err) {
      if (err.status !== 404) throw err;  // not yet visible: keep waiting
    }
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 1.5, 3000);
  }
  return { status: "PENDING", message: "still being indexed; check the photos below later" };
}

export function describeStatus(s) {
  if (s.status === "INDEXED") {
    const n = (s.face_ids || (s.faces || [])).length;
    const skipped = (s.unindexed_faces || []).length;
    return `INDEXED: ${n} face${n === 1 ? "" : "s"}${skipped ? `, ${skipped} not indexed` : ""}`;
  }
  if (s.status === "NO_FACES") return "NO_FACES: no face was found";
  const why = [s.reason_code, s.message].filter(Boolean).join(": ");
  return why ? `${s.status} (${why})` : s.status;
}

// ---------------------------------------------------------------- browse
function photosSection(collectionId, status, refreshCounts) {
  const grid = h("div", { class: "grid", id: "photos" });
  const more = h("button", { type: "button", class: "secondary", hidden: true }, "Load more photos");
  const el = h("section", { "aria-labelledby": "photos-title" }, h("h2", { id: "photos-title" }, "Photos"), grid, more);
  let token = null;
  let users = [];
  let generation = 0;  // uploads finishing together reload at once: only the latest load may draw

  async function load(reset) {
    const mine = reset ? ++generation : generation;
    try {
      const page = await state.api.listImages(collectionId, reset ? null : token);
      if (mine !== generation) return;
      if (reset) clear(grid);
      token = page.next_token;
      more.hidden = !token;
      if (reset && !page.images.length) clear(grid, h("p", {}, "No photos yet: drop some above."));
      for (const image of page.images) grid.append(photoCard(image));
    } catch (err) {
      clear(grid, errorBox(err, "Could not list the photos"));
    }
  }
  more.addEventListener("click", () => load(false));

  function photoCard(image) {
    const canvas = h("canvas", { width: "220", height: "160", role: "img",
      "aria-label": `${image.external_image_id || image.image_id}: ${image.faces.length} face(s) boxed` });
    const faces = h("ul", { class: "faces" });
    const card = h("article", { class: "photo", "data-image": image.image_id },
      canvas,
      h("p", { class: "meta" }, image.external_image_id || image.image_id),
      h("p", { class: `status ${image.status}` }, describeStatus(image)),
      faces,
      allowed("delete") ? h("button", { type: "button", class: "danger delete-photo",
        "aria-label": `Delete photo ${image.external_image_id || image.image_id}`, onclick: () => removePhoto() },
      "Delete photo") : null);
    let bitmap = null;
    const draw = () => bitmap && drawFaces(canvas, bitmap, image.faces, { maxSide: 480 });
    ownImage(state.api, collectionId, image.image_id).then((b) => { bitmap = b; draw(); })
      .catch((err) => card.append(errorBox({ code: "IMAGE_UNAVAILABLE", message: err.message })));
    const renderFaces = () => clear(faces, image.faces.map((f, i) => h("li", { "data-face": f.face_id },
      h("span", {}, `Face ${i + 1}`),
      f.user_id ? h("span", { class: "tag ok" }, `user ${f.user_id}`) : null,
      allowed("users") && users.length && !f.user_id ? userPicker(f) : null,
      allowed("delete") ? h("button", { type: "button", class: "secondary", "aria-label": `Delete face ${i + 1}`,
        onclick: () => removeFace(f) }, "Delete face") : null)));
    renderFaces();
    card.renderFaces = renderFaces;

    function userPicker(face) {
      const id = `assign-${face.face_id}`;
      const select = h("select", { id }, h("option", { value: "" }, "Add to user…"),
        users.map((u) => h("option", { value: u.user_id }, u.user_id)));
      select.addEventListener("change", async () => {
        if (!select.value) return;
        try {
          const r = await state.api.associate(collectionId, select.value, [face.face_id]);
          if (r.associated_faces.includes(face.face_id)) face.user_id = select.value;
          else clear(status, errorBox({ code: r.unsuccessful_face_associations[0].reasons.join(","),
            message: "the face was not associated" }));
          renderFaces();
        } catch (err) { clear(status, errorBox(err, "Could not associate the face")); }
      });
      return [h("label", { for: id, class: "visually-hidden" }, "Add this face to a user"), select];
    }

    async function removeFace(face) {
      const ok = await confirmDialog("Delete this face?", ["The face leaves the collection and its search index. "
        + "The photo stays."]);
      if (!ok) return;
      try {
        const r = await state.api.deleteFaces(collectionId, [face.face_id]);
        if (!r.deleted_faces.includes(face.face_id)) {
          const why = r.unsuccessful_face_deletions.map((u) => u.reasons.join(",")).join("; ");
          clear(status, errorBox({ code: why || "NOT_DELETED", message: "the face was not deleted" }));
          return;
        }
        image.faces = image.faces.filter((f) => f.face_id !== face.face_id);
        renderFaces();
        draw();
        clear(status, h("p", {}, "Face deleted."));
        refreshCounts();
      } catch (err) { clear(status, errorBox(err, "Could not delete the face")); }
    }

    async function removePhoto() {
      const name = image.external_image_id || image.image_id;
      const ok = await confirmDialog(`Delete photo ${name}?`, [`This erases the photo and its ${image.faces.length} `
        + "face(s): they leave search at once."], "Delete photo");
      if (!ok) return;
      try {
        await state.api.deleteImage(collectionId, image.image_id);
        forgetImage(collectionId, image.image_id);
        card.remove();
        clear(status, h("p", { id: "photo-deleted" }, `Photo ${name} deleted.`));
        refreshCounts();
      } catch (err) { clear(status, errorBox(err, "Could not delete the photo")); }
    }
    return card;
  }

  return {
    el,
    reload: () => load(true),
    setUsers: (list) => { users = list; for (const card of grid.querySelectorAll(".photo")) card.renderFaces?.(); },
  };
}

// ---------------------------------------------------------------- users
function usersSection(collectionId, status, photos) {
  const list = h("div", { class: "table-wrap", id: "users" });
  const input = h("input", { id: "new-user", type: "text", autocomplete: "off", required: true });
  const form = h("form", { class: "row" }, h("div", {}, h("label", { for: "new-user" }, "New user id"), input),
    h("button", { type: "submit" }, "Create user"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      await state.api.createUser(collectionId, input.value.trim());
      input.value = "";
      await refresh();
    } catch (err) { clear(status, errorBox(err, "Could not create the user")); }
  });
  const searchInput = h("input", { type: "file", id: "user-search-input", accept: "image/jpeg,image/png" });
  const searchZone = h("div", { class: "drop" }, h("p", {}, h("strong", {}, "Search users: drop a photo"), " or choose one:"),
    h("label", { for: "user-search-input", class: "visually-hidden" }, "Photo to search users with"), searchInput);
  const results = h("div", { "aria-live": "polite" });
  dropZone(searchZone, searchInput, async (files) => {
    const { ok } = imageFiles(files);
    if (!ok.length) { clear(results, errorBox({ code: "INVALID_IMAGE_FORMAT", message: "drop a JPEG or PNG photo" })); return; }
    clear(results, h("p", {}, "Searching…"));
    try {
      const r = await state.api.searchUsersByImage(collectionId, await fileToBase64(ok[0]), 80);
      clear(results, r.searched_face_bounding_box === null ? h("p", {}, "No face was found in that photo.")
        : r.user_matches.length ? h("ol", {}, r.user_matches.map((m) => h("li", {}, `${m.user.user_id}: ${m.similarity.toFixed(1)}%`)))
          : h("p", {}, "No user matches at 80% or more."));
    } catch (err) { clear(results, errorBox(err, "User search failed")); }
  });

  async function refresh() {
    try {
      const r = await state.api.listUsers(collectionId);
      photos.setUsers(r.users);
      clear(list, r.users.length ? h("table", {}, h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "User"),
        h("th", { scope: "col" }, "Faces"), h("th", { scope: "col" }, "Status"), h("th", { scope: "col" }, "Actions"))),
      h("tbody", {}, r.users.map((u) => h("tr", { "data-user": u.user_id }, h("td", {}, u.user_id),
        h("td", {}, String(u.face_ids.length)), h("td", {}, u.user_status),
        h("td", {}, allowed("delete") ? h("button", { type: "button", class: "danger",
          "aria-label": `Delete user ${u.user_id}`, onclick: () => removeUser(u) }, "Delete") : null)))))
        : h("p", {}, "No users yet. Create one, then add faces to it from the photos (\"Add to user…\")."));
    } catch (err) { clear(list, errorBox(err, "Could not list the users")); }
  }
  async function removeUser(u) {
    const ok = await confirmDialog(`Delete user ${u.user_id}?`, [`Its ${u.face_ids.length} face(s) stay in the collection, `
      + "no longer grouped."]);
    if (!ok) return;
    try { await state.api.deleteUser(collectionId, u.user_id); await refresh(); photos.reload(); } catch (err) {
      clear(status, errorBox(err, "Could not delete the user"));
    }
  }
  refresh();
  return h("section", { class: "card", "aria-labelledby": "users-title" }, h("h2", { id: "users-title" }, "Users"),
    list, form, searchZone, results);
}

