// Images in the browser: files to base64, the customer's own uploads (presigned GET), faces drawn on canvases.

const COLORS = ["#4dd2ff", "#ff7a59", "#7dff7a", "#d07aff", "#ff4da6", "#ffffff"];  // yellow marks the chosen face

export function fileToBase64(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).split(",", 2)[1] || "");
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

/** Decode an image blob (EXIF orientation applied, as the engine does). */
export async function bitmapOf(blob) {
  return createImageBitmap(blob, { imageOrientation: "from-image" });
}

const cache = new Map();  // `${collection}/${image}` -> Promise<ImageBitmap>

/** The customer's own uploaded image, fetched through a short-lived presigned GET from the API. */
export function ownImage(api, collectionId, imageId) {
  const key = `${collectionId}/${imageId}`;
  if (!cache.has(key)) {
    const loading = (async () => {
      const ticket = await api.imageUrl(collectionId, imageId);
      const response = await fetch(ticket.url, { credentials: "omit", cache: "no-store" });
      if (!response.ok) throw new Error(`the image could not be read (${response.status})`);
      return bitmapOf(await response.blob());
    })();
    loading.catch(() => cache.delete(key));
    cache.set(key, loading);
  }
  return cache.get(key);
}

export function forgetImage(collectionId, imageId) {
  cache.delete(`${collectionId}/${imageId}`);
}

/**
 * Draw an image scaled to at most `maxSide` px with its faces' boxes (and landmarks).
 * faces: [{bounding_box: {left, top, width, height}, landmarks?: [{x, y}], label?}]
 */
export function drawFaces(canvas, bitmap, faces, { maxSide = 640, selected = -1, landmarks = false } = {}) {
  const scale = Math.min(1, maxSide / Math.max(bitmap.width, bitmap.height));
  canvas.width = Math.round(bitmap.width * scale);
  canvas.height = Math.round(bitmap.height * scale);
  const ctx = canvas.getContext("2d");
  ctx.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  const line = Math.max(2, Math.round(canvas.width / 220));
  faces.forEach((face, i) => {
    const b = face.bounding_box;
    const color = i === selected ? "#ffd24d" : COLORS[i % COLORS.length];
    ctx.lineWidth = i === selected ? line * 2 : line;
    ctx.strokeStyle = "#000";
    ctx.strokeRect(b.left * scale - 1, b.top * scale - 1, b.width * scale + 2, b.height * scale + 2);
    ctx.strokeStyle = color;
    ctx.strokeRect(b.left * scale, b.top * scale, b.width * scale, b.height * scale);
    const label = face.label !== undefined ? face.label : String(i + 1);
    if (label) {
      const size = Math.max(11, Math.round(Math.min(canvas.width / 30, (b.height * scale) / 4)));
      ctx.font = `bold ${size}px system-ui, sans-serif`;
      const w = ctx.measureText(label).width + 8;
      const y = Math.max(0, b.top * scale - size - 6);
      ctx.fillStyle = color;
      ctx.fillRect(b.left * scale, y, w, size + 6);
      ctx.fillStyle = "#000";
      ctx.fillText(label, b.left * scale + 4, y + size);
    }
    if (landmarks && face.landmarks) {
      ctx.fillStyle = "#ff2d55";
      for (const p of face.landmarks) {
        ctx.beginPath();
        ctx.arc(p.x * scale, p.y * scale, Math.max(2, line), 0, Math.PI * 2);
        ctx.fill();
      }
    }
  });
  canvas.dataset.drawn = "true";
  return scale;
}

/** The index of the face whose box holds a click on `canvas` (drawn at `scale`), or -1. */
export function faceAt(canvas, faces, scale, event) {
  const rect = canvas.getBoundingClientRect();
  const x = ((event.clientX - rect.left) * (canvas.width / rect.width)) / scale;
  const y = ((event.clientY - rect.top) * (canvas.height / rect.height)) / scale;
  return faces.findIndex((f) => {
    const b = f.bounding_box;
    return x >= b.left && x <= b.left + b.width && y >= b.top && y <= b.top + b.height;
  });
}

/** A square thumbnail of one face region (with a margin), drawn into `canvas`. */
export function drawCrop(canvas, bitmap, box, size = 112) {
  const side = Math.max(box.width, box.height) * 1.4;
  const cx = box.left + box.width / 2;
  const cy = box.top + box.height / 2;
  canvas.width = size;
  canvas.height = size;
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#dde3ea";
  ctx.fillRect(0, 0, size, size);
  ctx.drawImage(bitmap, cx - side / 2, cy - side / 2, side, side, 0, 0, size, size);
}

/** The index of the largest face (by box area), or -1. */
export function largest(faces) {
  let best = -1;
  let area = -1;
  faces.forEach((f, i) => {
    const a = f.bounding_box.width * f.bounding_box.height;
    if (a > area) { area = a; best = i; }
  });
  return best;
}

/** Files from a drop or a file input, JPEG and PNG only; the others are reported. */
export function imageFiles(fileList) {
  const ok = [];
  const refused = [];
  for (const file of fileList) {
    (file.type === "image/jpeg" || file.type === "image/png" ? ok : refused).push(file);
  }
  return { ok, refused };
}

/** Make `zone` accept dropped files and give them (with the file input's) to `onFiles`. */
export function dropZone(zone, input, onFiles) {
  zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    if (e.dataTransfer && e.dataTransfer.files.length) onFiles([...e.dataTransfer.files]);
  });
  input.addEventListener("change", () => { if (input.files.length) onFiles([...input.files]); input.value = ""; });
}
