// dom.js - builds the console's DOM: elements from tags, attributes and text nodes only (no markup strings).
//
// Every string a view passes becomes a text node or an attribute value, so a job result holding
// "<script>" shows as those characters. URL attributes take only paths of this origin.

const SVG_NS = 'http://www.w3.org/2000/svg';
const URL_ATTRS = new Set(['href', 'src', 'action', 'formaction', 'xlink:href', 'poster', 'srcset']);
// Set as properties (their attribute is only the initial state).
const PROPS = new Set(['value', 'checked', 'selected', 'indeterminate', 'defaultValue']);
let seq = 0;

function safeUrl(v) {
  const s = String(v);
  if (s.startsWith('#')) return s;
  if (/^\/(?![/\\])/.test(s) && !/[\\\u0000-\u001f]/.test(s)) return s;
  throw new Error('dom: not a link of this origin: ' + s);
}

function setAttrs(el, attrs) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) {
      if (typeof v !== 'function') throw new Error('dom: ' + k + ' must be a function');
      el.addEventListener(k.slice(2).toLowerCase(), v);
    } else if (k === 'class') {
      el.setAttribute('class', Array.isArray(v) ? v.filter(Boolean).join(' ') : String(v));
    } else if (PROPS.has(k)) {
      el[k] = v;
    } else if (!/^[a-zA-Z][a-zA-Z0-9:_-]*$/.test(k) || k === 'style' || k === 'srcdoc') {
      throw new Error('dom: attribute not allowed: ' + k);
    } else {
      const val = v === true ? '' : String(v);
      el.setAttribute(k, URL_ATTRS.has(k) ? safeUrl(val) : val);
    }
  }
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

// h('a', {href: '/ui/jobs', class: 'x', 'aria-label': 'y', onclick: fn}, 'text', node, [more]).
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

// The same for SVG elements (charts).
export function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

// Replaces the children of "el" with "children".
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

function pad(n, w = 2) {
  return String(n).padStart(w, '0');
}

// <time datetime title="YYYY-MM-DD HH:MM:SS UTC"> showing the viewer's local time. "iso" is an
// RFC 3339 string or Unix seconds (the corex dialect); empty shows a dash. compact: today's times
// as the time of day only (tables).
export function time(iso, { compact = false } = {}) {
  if (iso === null || iso === undefined || iso === '') return h('span', { class: 'muted' }, '—');
  const d = typeof iso === 'number' ? new Date(iso * 1000) : new Date(iso);
  if (Number.isNaN(d.getTime())) return document.createTextNode(String(iso));
  const utc = d.getUTCFullYear() + '-' + pad(d.getUTCMonth() + 1) + '-' + pad(d.getUTCDate()) + ' ' +
    pad(d.getUTCHours()) + ':' + pad(d.getUTCMinutes()) + ':' + pad(d.getUTCSeconds()) + ' UTC';
  const today = new Date().toDateString() === d.toDateString();
  const local = compact && today ?
    d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' }) :
    d.toLocaleString(undefined, compact ?
      { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' } :
      { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });
  return h('time', { datetime: d.toISOString(), title: utc }, local);
}

// Pretty-printed JSON as text in <pre class="json">.
export function json(value) {
  let text;
  try {
    text = JSON.stringify(value, null, 2);
  } catch {
    text = String(value);
  }
  return h('pre', { class: 'json', tabindex: 0 }, text === undefined ? 'null' : text);
}

// A table inside a horizontally scrolling wrapper: columns [{label, cell(row) -> node|string, class?}]
// (class "wrap": that column's text wraps).
export function table(columns, rows, { empty = 'Nothing to show.', caption } = {}) {
  const head = h('tr', {}, columns.map((c) => h('th', { scope: 'col' }, c.label)));
  const body = h('tbody');
  if (!rows || rows.length === 0) {
    body.appendChild(h('tr', {}, h('td', { colspan: columns.length, class: 'empty' }, empty)));
  } else {
    for (const row of rows) body.appendChild(h('tr', {}, columns.map((c) => h('td', { class: c.class }, c.cell(row)))));
  }
  return h('div', { class: 'table-wrap' },
    h('table', {}, caption ? h('caption', {}, caption) : null, h('thead', {}, head), body));
}

// A message: kind "error" (role alert), "ok" or "info" (role status).
export function notice(kind, text) {
  const k = ['error', 'ok', 'info'].includes(kind) ? kind : 'info';
  return h('div', { class: 'notice notice-' + k, role: k === 'error' ? 'alert' : 'status' }, text);
}

// A button; an async onclick disables it until it settles (no double submit).
export function button(label, onclick, { kind, type = 'button', attrs } = {}) {
  const b = h('button', Object.assign({ type, class: ['btn', kind ? 'btn-' + kind : ''] }, attrs || {}), label);
  if (onclick) {
    b.addEventListener('click', async (ev) => {
      if (b.disabled) return;
      const r = onclick(ev);
      if (r && typeof r.then === 'function') {
        b.disabled = true;
        try {
          await r;
        } finally {
          b.disabled = false;
        }
      }
    });
  }
  return b;
}

// A labelled form field: <label for> + the input + a hint + <p class="field-error">, the latter two
// linked to the input with aria-describedby. setFieldError() fills or clears the error.
export function field(label, input, { hint, error } = {}) {
  if (!input.id) input.id = 'vex-field-' + (++seq);
  const id = input.id;
  const hintEl = hint ? h('p', { class: 'hint', id: id + '-hint' }, hint) : null;
  const errEl = h('p', { class: 'field-error', id: id + '-error' });
  input.setAttribute('aria-describedby', (hint ? id + '-hint ' : '') + id + '-error');
  const el = h('div', { class: 'field' }, h('label', { for: id }, label), input, hintEl, errEl);
  setFieldError(el, error);
  return el;
}

export function setFieldError(fieldEl, text) {
  const errEl = fieldEl.querySelector('.field-error');
  const input = fieldEl.querySelector('input, select, textarea');
  if (errEl) {
    errEl.textContent = text || '';
    errEl.hidden = !text;
  }
  if (input) {
    if (text) input.setAttribute('aria-invalid', 'true');
    else input.removeAttribute('aria-invalid');
  }
}

// Asks in a modal <dialog> (Escape or Cancel: false). Resolves true when confirmed.
export function confirmAction(text, { confirmLabel = 'Confirm', cancelLabel = 'Cancel' } = {}) {
  return new Promise((resolve) => {
    const dlg = h('dialog', { class: 'confirm', 'aria-labelledby': 'vex-confirm-text' });
    let settled = false;
    const done = (v) => {
      if (settled) return;
      settled = true;
      if (dlg.open) dlg.close();
      dlg.remove();
      resolve(v);
    };
    const cancel = button(cancelLabel, () => done(false));
    dlg.append(h('p', { id: 'vex-confirm-text' }, text),
      h('div', { class: 'actions' }, cancel, button(confirmLabel, () => done(true), { kind: 'danger' })));
    dlg.addEventListener('cancel', (ev) => {
      ev.preventDefault();
      done(false);
    });
    document.body.appendChild(dlg);
    dlg.showModal();
    cancel.focus();
  });
}
