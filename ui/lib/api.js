// api.js - the console's only way to the server: public API calls on this origin with the signed-in credential.
//
// The credential (an API key vex_... or a JWT) lives in sessionStorage under "vex.credential": it is
// gone when the tab closes, never written to a URL, a cookie or localStorage. Every request is a
// relative path on this origin (the page's CSP, connect-src 'self', would refuse any other anyway).

const KEY = 'vex.credential';
export const TERMINAL = new Set(['completed', 'failed', 'canceled', 'timeout']);
// The named events of a vex job stream (docs/api-streams.md).
const STREAM_EVENTS = ['queued', 'started', 'progress', 'cancel_requested', 'requeued',
  'completed', 'failed', 'timeout', 'canceled'];
const POLL_MS = 2000;

let whoCache = null; // {credential, promise}

export function getCredential() {
  try {
    return sessionStorage.getItem(KEY) || null;
  } catch {
    return null;
  }
}

export function setCredential(s) {
  sessionStorage.setItem(KEY, String(s));
  whoCache = null;
}

export function clearCredential() {
  try {
    sessionStorage.removeItem(KEY);
  } catch {
    // storage disabled: nothing was kept
  }
  whoCache = null;
}

// A path of this origin: "/..." but never "//host" or "/\host", which browsers read as another origin.
export function isLocalPath(p) {
  return typeof p === 'string' && /^\/(?![/\\])/.test(p) && !/[\\\u0000-\u001f]/.test(p);
}

// A path from a template with every interpolated value percent-encoded as one segment:
// apiPath`/api/v1/jobs/${id}/cancel`.
export function apiPath(strings, ...values) {
  let out = strings[0];
  values.forEach((v, i) => { out += encodeURIComponent(String(v)) + strings[i + 1]; });
  return out;
}

function queryString(query) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(query || {})) {
    if (v === undefined || v === null || v === '') continue;
    p.append(k, Array.isArray(v) ? v.join(',') : String(v));
  }
  const s = p.toString();
  return s ? '?' + s : '';
}

// One API call. Resolves {status, ok, headers, body} (body: parsed JSON or null) whatever the status;
// rejects only on a network failure. A 401 signs the user out ("vex:unauthorized" event, detail the
// server's message) unless "credential" was given: the sign-in form checks a candidate that way.
export async function api(method, path, { body, query, headers, credential } = {}) {
  if (!isLocalPath(path)) throw new Error('api: not a path of this origin: ' + path);
  const cred = credential !== undefined ? credential : getCredential();
  const h = new Headers(headers || {});
  h.set('Accept', 'application/json');
  if (cred && !h.has('Authorization')) h.set('Authorization', 'Bearer ' + cred);
  const init = { method, headers: h, credentials: 'omit', cache: 'no-store', redirect: 'error' };
  if (body !== undefined) {
    h.set('Content-Type', 'application/json');
    init.body = JSON.stringify(body);
  }
  const r = await fetch(path + queryString(query), init);
  const text = await r.text();
  let parsed = null;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = null;
    }
  }
  const res = { status: r.status, ok: r.ok, headers: r.headers, body: parsed };
  if (r.status === 401 && credential === undefined && cred) {
    clearCredential();
    window.dispatchEvent(new CustomEvent('vex:unauthorized', { detail: errorText(res) }));
  }
  return res;
}

// A human sentence from any dialect's error: vex/events {"error":{"code","message","field"}},
// events {"error":"..."}, corex {"detail":...}; always with the HTTP status.
export function errorText(res) {
  if (!res) return 'no answer from the server';
  const b = res.body;
  let msg = '';
  let code = '';
  if (b && typeof b === 'object') {
    if (b.error && typeof b.error === 'object') {
      msg = typeof b.error.message === 'string' ? b.error.message : '';
      code = typeof b.error.code === 'string' ? b.error.code : '';
      if (typeof b.error.field === 'string' && b.error.field) msg += ' (field ' + b.error.field + ')';
    } else if (typeof b.error === 'string') {
      msg = b.error;
    } else if (b.detail !== undefined) {
      msg = typeof b.detail === 'string' ? b.detail : JSON.stringify(b.detail);
    } else if (typeof b.message === 'string') {
      msg = b.message;
    }
  }
  const status = 'HTTP ' + res.status;
  if (!msg) return status + (res.status >= 500 ? ': the server failed' : '');
  return msg + ' (' + (code ? code + ', ' : '') + status + ')';
}

// Who the credential stands for: {sub, role} or null (GET /api/v1/whoami, any credential).
export function whoami() {
  const cred = getCredential();
  if (!cred) return Promise.resolve(null);
  if (whoCache && whoCache.credential === cred) return whoCache.promise;
  const promise = api('GET', '/api/v1/whoami').then((r) => {
    if (!r.ok || !r.body) return null;
    return { sub: r.body.sub, role: r.body.role };
  }, () => null);
  whoCache = { credential: cred, promise };
  promise.then((w) => { if (!w && whoCache && whoCache.promise === promise) whoCache = null; });
  return promise;
}

// Follows a job live: a stream token (POST /api/v1/jobs/{id}/stream_token), then an EventSource on
// its stream_url; onEvent(name, job) for every event (name "poll" while polling). Falls back to
// polling GET /api/v1/jobs/{id} every 2 s when no token comes or the stream is refused. Stops at a
// terminal status. Resolves a close() that ends it all.
export async function openJobStream(jobId, onEvent) {
  let closed = false;
  let es = null;
  let timer = null;
  const close = () => {
    closed = true;
    if (es) es.close();
    es = null;
    clearTimeout(timer);
  };
  const poll = async () => {
    timer = null;
    if (closed) return;
    let r = null;
    try {
      r = await api('GET', apiPath`/api/v1/jobs/${jobId}`);
    } catch {
      r = null;
    }
    if (closed) return;
    if (r && r.ok && r.body) {
      onEvent('poll', r.body);
      if (TERMINAL.has(r.body.status)) return;
    } else if (r && (r.status === 401 || r.status === 404)) {
      return;
    }
    timer = setTimeout(poll, POLL_MS);
  };
  const fallBack = () => {
    if (es) es.close();
    es = null;
    if (!closed && timer === null) poll();
  };

  let t = null;
  try {
    t = await api('POST', apiPath`/api/v1/jobs/${jobId}/stream_token`);
  } catch {
    t = null;
  }
  if (closed) return close;
  const url = t && t.ok && t.body && t.body.stream_url;
  if (!isLocalPath(url) || typeof EventSource === 'undefined') {
    fallBack();
    return close;
  }
  es = new EventSource(url);
  for (const name of STREAM_EVENTS) {
    es.addEventListener(name, (ev) => {
      let job;
      try {
        job = JSON.parse(ev.data);
      } catch {
        return;
      }
      if (closed) return;
      onEvent(name, job);
      if (job && TERMINAL.has(job.status)) {
        if (es) es.close();
        es = null;
      }
    });
  }
  // EventSource reconnects by itself (with Last-Event-ID); once it gives up (a refused
  // reconnection: the token expired), polling takes over.
  es.onerror = () => {
    if (!closed && es && es.readyState === EventSource.CLOSED) fallBack();
  };
  return close;
}
