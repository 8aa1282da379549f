// Search: drop a photo, every face boxed, pick one (default the largest), ranked matches as face thumbnails.
import { allowed, refusalPanel, state } from "../access.js";
import { clear, errorBox, fmtSim, h } from "../dom.js";
import { bitmapOf, drawCrop, drawFaces, dropZone, faceAt, fileToBase64, imageFiles, largest, ownImage } from "../images.js";

const MAX_MATCHES = 24;

export async function searchView(main) {
  if (!allowed("search")) {
    clear(main, h("h1", {}, "Search"), refusalPanel("search", "Face search"));
    return;
  }
  const status = h("div", { "aria-live": "polite", id: "search-status" });
  const select = h("select", { id: "search-collection" });
  const input = h("input", { type: "file", id: "search-input", accept: "image/jpeg,image/png" });
  const zone = h("div", { class: "drop", id: "search-drop" },
    h("p", {}, h("strong", {}, "Drop a photo to search with"), " (JPEG or PNG, up to about 4 MB), or choose one:"),
    h("label", { for: "search-input", class: "visually-hidden" }, "Photo to search with"), input);
  const canvas = h("canvas", { id: "search-query", width: "320", height: "200", role: "img", "aria-label": "The query photo" });
  const choices = h("div", { class: "choices", role: "group", "aria-label": "Which face to search" });
  const slider = h("input", { type: "range", id: "threshold", min: "0", max: "100", step: "1", value: "80" });
  const sliderValue = h("output", { for: "threshold", id: "threshold-value" }, "80");
  const summary = h("p", { id: "match-summary", "aria-live": "polite" });
  const matches = h("ol", { class: "matches", id: "matches", "aria-label": "Matches, most similar first" });
  const query = { bitmap: null, image: null, faces: [], selected: -1, scale: 1 };
  canvas.addEventListener("click", (e) => {  // a click on a face picks it too (the buttons are the keyboard way)
    const i = query.faces.length ? faceAt(canvas, query.faces, query.scale, e) : -1;
    if (i >= 0 && i !== query.selected) choose(i);
  });

  let collections = [];
  try {
    collections = await state.api.allCollections();
  } catch (err) { collections = []; clear(status, errorBox(err, "Could not list the collections")); }
  clear(select, collections.map((c) => h("option", { value: c.collection_id }, `${c.collection_id} (${c.face_count} faces)`)));
  if (!collections.length) clear(status, h("p", { class: "notice" }, "Create a collection and upload photos first."));

  dropZone(zone, input, async (files) => {
    const { ok } = imageFiles(files);
    if (!ok.length) { clear(status, errorBox({ code: "INVALID_IMAGE_FORMAT", message: "drop a JPEG or PNG photo" })); return; }
    clear(matches); clear(summary); clear(choices);
    clear(status, h("p", {}, "Finding faces…"));
    try {
      query.bitmap = await bitmapOf(ok[0]);
      query.image = await fileToBase64(ok[0]);
      drawFaces(canvas, query.bitmap, []);
      const detected = await state.api.detect(query.image);
      query.faces = detected.faces;
      if (!query.faces.length) { clear(status, h("p", { class: "notice" }, "No face was found in this photo.")); return; }
      clear(status);
      choose(largest(query.faces));
    } catch (err) { clear(status, errorBox(err, "The photo could not be analysed")); }
  });

  function renderChoices() {
    const big = largest(query.faces);
    clear(choices, query.faces.map((f, i) => h("button", { type: "button", class: "secondary", "aria-pressed": String(i === query.selected),
      "data-face-index": String(i), onclick: () => choose(i) }, `Face ${i + 1}${i === big ? " (largest)" : ""}`)));
  }

  async function choose(i) {
    query.selected = i;
    query.scale = drawFaces(canvas, query.bitmap, query.faces, { selected: i });
    renderChoices();
    const collectionId = select.value;
    if (!collectionId) return;
    clear(summary, "Searching…");
    clear(matches);
    try {
      const r = await state.api.searchFace(collectionId, query.image, query.faces[i].bounding_box, 0, MAX_MATCHES);
      if (!r.searched_face_bounding_box) {
        clear(summary, "The service found no face at that place of the photo; pick another face.");
        return;
      }
      renderMatches(collectionId, r.face_matches);
    } catch (err) { clear(summary); clear(status, errorBox(err, "Search failed")); }
  }

  function renderMatches(collectionId, list) {
    clear(matches, list.map((m, rank) => {
      const thumb = h("canvas", { width: "112", height: "112", role: "img",
        "aria-label": `Face from ${m.face.external_image_id || m.face.image_id}` });
      ownImage(state.api, collectionId, m.face.image_id).then((b) => drawCrop(thumb, b, m.face.bounding_box)).catch(() => {});
      return h("li", { "data-similarity": String(m.similarity), "data-image": m.face.image_id, "data-face": m.face.face_id },
        thumb, h("div", { class: "sim" }, fmtSim(m.similarity)),
        h("div", { class: "meta" }, `#${rank + 1} · ${m.face.external_image_id || m.face.image_id}`),
        m.face.user_id ? h("div", { class: "tag ok" }, `user ${m.face.user_id}`) : null);
    }));
    applyThreshold();
  }

  function applyThreshold() {
    const t = Number(slider.value);
    sliderValue.textContent = String(t);
    let shown = 0;
    for (const li of matches.children) {
      const below = Number(li.dataset.similarity) < t;
      li.classList.toggle("below", below);
      if (!below) shown += 1;
    }
    if (query.selected >= 0 && matches.children.length >= 0) {
      clear(summary, shown ? `${shown} match${shown === 1 ? "" : "es"} at ${t}% or more` : `No match at ${t}% or more`);
    }
  }
  slider.addEventListener("input", applyThreshold);
  select.addEventListener("change", () => { if (query.selected >= 0) choose(query.selected); });

  clear(main, h("h1", {}, "Search"), status,
    h("div", { class: "card" },
      h("div", { class: "row" },
        h("div", {}, h("label", { for: "search-collection" }, "Collection"), select),
        h("div", {}, h("label", { for: "threshold" }, "Similarity threshold: ", sliderValue, "%"), slider)),
      zone),
    h("div", { class: "side" },
      h("section", { class: "stage", "aria-labelledby": "query-title" }, h("h2", { id: "query-title" }, "Query"), canvas, choices),
      h("section", { "aria-labelledby": "matches-title" }, h("h2", { id: "matches-title" }, "Matches"), summary, matches)));
}
