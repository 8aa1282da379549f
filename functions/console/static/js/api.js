// The HTTP API, called on this origin with the key the user typed (kept in sessionStorage only).
const KEY_ITEM = "facesearch.apiKey";

export const session = {
  key: () => sessionStorage.getItem(KEY_ITEM),
  signIn: (key) => sessionStorage.setItem(KEY_ITEM, key),
  signOut: () => sessionStorage.removeItem(KEY_ITEM),
};

/** The API's base path: the console lives at <base>/console/. */
export function apiBase() {
  return new URL("..", document.baseURI).pathname.replace(/\/$/, "");
}

/** An API answer other than 2xx, with the API's code and message (and rule id for a refusal). */
export class ApiError extends Error {
  constructor(status, body) {
    const gateway = !body || !body.code;
    const code = gateway ? gatewayCode(status) : body.code;
    const message = gateway ? gatewayMessage(status, body && body.message) : body.message;
    super(message);
    this.status = status;
    this.code = code;
    this.ruleId = body && body.rule_id ? body.rule_id : null;
    this.reason = body && body.reason ? body.reason : null;
    this.policy = body && body.policy_sha256 ? `policy v${body.policy_version} (${body.policy_sha256.slice(0, 12)}…)` : null;
  }
}

function gatewayCode(status) {
  if (status === 401) return "API_KEY_MISSING";
  if (status === 403) return "API_KEY_REFUSED";
  if (status === 404) return "NOT_FOUND";
  if (status === 413) return "REQUEST_TOO_LARGE";
  if (status === 0) return "NETWORK_ERROR";
  return `HTTP_${status}`;
}

function gatewayMessage(status, message) {
  if (status === 401) return "No API key was sent.";
  if (status === 403) return "The API refused this key: it is unknown or has been revoked.";
  if (status === 413) return "The request is too large for the API (at most about 4.4 MB of image).";
  if (status === 0) return "The API could not be reached.";
  return message || `The API answered ${status}.`;
}

export class Api {
  constructor(key) {
    this.key = key;
    this.base = apiBase();
  }

  async request(method, path, { body, query, auth = true } = {}) {
    const url = new URL(this.base + path, location.origin);
    for (const [k, v] of Object.entries(query || {})) {
      if (v !== undefined && v !== null && v !== "") url.searchParams.set(k, String(v));
    }
    const headers = { accept: "application/json" };
    if (auth && this.key) headers["x-api-key"] = this.key;
    if (body !== undefined) headers["content-type"] = "application/json";
    let response;
    try {
      response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body),
        credentials: "omit", cache: "no-store" });
    } catch (err) {
      throw new ApiError(0, { message: String(err) });
    }
    const text = await response.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch { data = { message: text.slice(0, 200) }; }
    if (!response.ok) throw new ApiError(response.status, data);
    return data;
  }

  me() { return this.request("GET", "/me"); }
  policy() { return this.request("GET", "/policy", { auth: false }); }
  listCollections(token) { return this.request("GET", "/collections", { query: { next_token: token } }); }
  async allCollections() {
    const all = [];
    let token = null;
    do {
      const page = await this.listCollections(token);
      all.push(...page.collections);
      token = page.next_token;
    } while (token);
    return all;
  }
  describeCollection(id) { return this.request("GET", `/collections/${enc(id)}`); }
  createCollection(id) { return this.request("POST", "/collections", { body: { collection_id: id } }); }
  async deleteCollection(id) {
    // a very large collection's photos take more than one call: repeat while the API says some remain
    let result = await this.request("DELETE", `/collections/${enc(id)}`);
    while (result && result.done === false) {
      try {
        result = await this.request("DELETE", `/collections/${enc(id)}`);
      } catch (err) {
        if (err instanceof ApiError && err.status === 404) break; // the previous call took the last ones
        throw err;
      }
    }
    return result;
  }
  listImages(id, token, max = 24) {
    return this.request("GET", `/collections/${enc(id)}/images`, { query: { next_token: token, max_results: max } });
  }
  imageStatus(id, image) { return this.request("GET", `/collections/${enc(id)}/images/${enc(image)}`); }
  imageUrl(id, image) { return this.request("GET", `/collections/${enc(id)}/images/${enc(image)}/url`); }
  deleteImage(id, image) { return this.request("DELETE", `/collections/${enc(id)}/images/${enc(image)}`); }
  createUpload(id, file, externalId) {
    const body = { content_type: file.type, content_length: file.size };
    if (externalId) body.external_image_id = externalId;
    return this.request("POST", `/collections/${enc(id)}/uploads`, { body });
  }
  deleteFaces(id, faceIds) {
    return this.request("DELETE", `/collections/${enc(id)}/faces`, { body: { face_ids: faceIds } });
  }
  searchFace(id, image, box, threshold, maxFaces) {
    return this.request("POST", `/collections/${enc(id)}/search/face`,
      { body: { image, bounding_box: box, threshold, max_faces: maxFaces } });
  }
  detect(image) { return this.request("POST", "/detect", { body: { image } }); }
  compare(source, target, threshold) {
    return this.request("POST", "/compare", { body: { source_image: source, target_image: target, threshold } });
  }
  listUsers(id) { return this.request("GET", `/collections/${enc(id)}/users`); }
  createUser(id, userId) { return this.request("POST", `/collections/${enc(id)}/users`, { body: { user_id: userId } }); }
  deleteUser(id, userId) { return this.request("DELETE", `/collections/${enc(id)}/users/${enc(userId)}`); }
  associate(id, userId, faceIds) {
    return this.request("POST", `/collections/${enc(id)}/users/${enc(userId)}/faces`, { body: { face_ids: faceIds } });
  }
  disassociate(id, userId, faceIds) {
    return this.request("DELETE", `/collections/${enc(id)}/users/${enc(userId)}/faces`, { body: { face_ids: faceIds } });
  }
  searchUsersByImage(id, image, threshold) {
    return this.request("POST", `/collections/${enc(id)}/users/search`, { body: { image, user_match_threshold: threshold } });
  }
}

function enc(s) { return encodeURIComponent(s); }

/** PUT a file to a presigned URL with exactly the signed headers, reporting progress (0..1). */
export function putWithProgress(ticket, file, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(ticket.method || "PUT", ticket.url);
    for (const [name, value] of Object.entries(ticket.headers || {})) {
      if (name.toLowerCase() !== "content-length") xhr.setRequestHeader(name, value);  // the browser sets it
    }
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); };
    xhr.onload = () => (xhr.status >= 200 && xhr.status < 300 ? resolve()
      : reject(new ApiError(xhr.status, { code: "UPLOAD_FAILED", message: `the bucket answered ${xhr.status}` })));
    xhr.onerror = () => reject(new ApiError(0, { code: "UPLOAD_FAILED", message: "the upload could not be sent" }));
    xhr.send(file);
  });
}
