// Compare and detect: two photos side by side with boxes, landmarks, quality, and the similarity.
import { allowed, refusalPanel, state } from "../access.js";
import { clear, errorBox, fmtSim, h } from "../dom.js";
import { bitmapOf, drawFaces, dropZone, fileToBase64, imageFiles } from "../images.js";

export async function compareView(main) {
  if (!allowed("detect")) {
    clear(main, h("h1", {}, "Compare & detect"), refusalPanel("detect", "Face detection"));
    return;
  }
  const result = h("div", { id: "compare-result", "aria-live": "polite" });
  const sides = [makeSide("source", "Source photo"), makeSide("target", "Target photo")];

  function makeSide(name, title) {
    const input = h("input", { type: "file", id: `${name}-input`, accept: "image/jpeg,image/png" });
    const zone = h("div", { class: "drop", id: `${name}-drop` }, h("p", {}, h("strong", {}, `Drop the ${title.toLowerCase()}`), " or choose it:"),
      h("label", { for: `${name}-input`, class: "visually-hidden" }, title), input);
    const canvas = h("canvas", { id: `${name}-canvas`, width: "320", height: "200", role: "img", "aria-label": title });
    const details = h("div", { id: `${name}-faces` });
    const side = { name, image: null, bitmap: null, faces: [], canvas, details,
      el: h("section", { class: "card stage", "aria-labelledby": `${name}-title` }, h("h2", { id: `${name}-title` }, title), zone, canvas, details) };
    dropZone(zone, input, async (files) => {
      const { ok } = imageFiles(files);
      if (!ok.length) { clear(details, errorBox({ code: "INVALID_IMAGE_FORMAT", message: "drop a JPEG or PNG photo" })); return; }
      clear(details, h("p", {}, "Detecting faces…"));
      try {
        side.bitmap = await bitmapOf(ok[0]);
        side.image = await fileToBase64(ok[0]);
        const r = await state.api.detect(side.image);
        side.faces = r.faces;
        drawFaces(canvas, side.bitmap, side.faces, { landmarks: true });
        clear(details, faceTable(side.faces));
        await compare();
      } catch (err) { clear(details, errorBox(err, "Detection failed")); }
    });
    return side;
  }

  async function compare() {
    const [source, target] = sides;
    if (!source.image || !target.image) {
      clear(result, h("p", { class: "hint" }, "Drop a photo on each side to compare them."));
      return;
    }
    if (!allowed("compare")) { clear(result, refusalPanel("compare", "Face comparison")); return; }
    clear(result, h("p", {}, "Comparing…"));
    try {
      const r = await state.api.compare(source.image, target.image, 80);
      if (!r.source_face) { clear(result, h("p", { class: "notice" }, "No face in the source photo to compare.")); return; }
      drawFaces(source.canvas, source.bitmap, [{ ...r.source_face, label: "source" }], { landmarks: true, selected: 0 });
      const targets = [...r.face_matches.map((m) => ({ ...m.face, label: fmtSim(m.similarity) })),
        ...r.unmatched_faces.map((f) => ({ ...f, label: "no match" }))];
      drawFaces(target.canvas, target.bitmap, targets, { landmarks: true, selected: r.face_matches.length ? 0 : -1 });
      const best = r.face_matches[0];
      clear(result, h("div", { class: "card", id: "similarity" },
        h("h2", {}, "Similarity"),
        best ? h("p", {}, h("span", { class: "big", id: "best-similarity" }, fmtSim(best.similarity)),
          " — a match (threshold 80%)")
          : h("p", {}, h("span", { class: "big", id: "best-similarity" }, "no match"),
            ` — no face of the target reaches 80% (${r.unmatched_faces.length} face(s) compared)`),
        r.face_matches.length > 1 ? h("p", {}, `${r.face_matches.length} faces of the target match.`) : null));
    } catch (err) { clear(result, errorBox(err, "Comparison failed")); }
  }

  clear(main, h("h1", {}, "Compare & detect"),
    h("p", {}, "Detection runs on each photo (boxes, the five landmarks, quality); comparison gives the similarity of "
      + "the source's largest face to every face of the target."),
    h("div", { class: "side" }, sides.map((s) => s.el)), result);
  compare();
}

function faceTable(faces) {
  if (!faces.length) return h("p", { class: "notice" }, "No face found.");
  return h("div", { class: "table-wrap" }, h("table", {},
    h("thead", {}, h("tr", {}, ["Face", "Confidence", "Brightness", "Sharpness", "Yaw / pitch / roll"].map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, faces.map((f, i) => h("tr", {}, h("td", {}, String(i + 1)), h("td", {}, `${f.confidence.toFixed(1)}`),
      h("td", {}, f.quality.brightness.toFixed(1)), h("td", {}, f.quality.sharpness.toFixed(1)),
      h("td", {}, `${f.quality.yaw.toFixed(0)}° / ${f.quality.pitch.toFixed(0)}° / ${f.quality.roll.toFixed(0)}°`))))));
}
