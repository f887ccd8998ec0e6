// kit.js - what the agents, tools, webhooks and keys views share: headings, errors at their field, paged lists, copy, facts.
import { h, notice, button, table, setFieldError } from '../lib/dom.js';
import { api, errorText } from '../lib/api.js';
import { jobLink as linkJob } from './jobcommon.js';

// Starts a view: its title and an <h1> (focused, so keyboard and screen reader users land on it).
export function heading(root, title, text) {
  document.title = title + ' - vex';
  const h1 = h('h1', { tabindex: '-1' }, text === undefined ? title : text);
  root.replaceChildren(h1);
  h1.focus();
  return h1;
}

// The server's error of "res" at the field its body names ("error.field"), else as a notice in "box".
// "fieldFor" maps a field name to the field element (null when the form has none of that name).
// Returns true when the error went to a field.
export function showError(res, fieldFor, box) {
  const err = res && res.body && typeof res.body.error === 'object' && res.body.error !== null ? res.body.error : null;
  const name = err && typeof err.field === 'string' ? err.field : null;
  const el = name ? fieldFor(name) : null;
  if (el) {
    setFieldError(el, String(err.message || errorText(res)));
    const input = el.querySelector('input, select, textarea');
    if (input) input.focus();
    box.replaceChildren(notice('error', 'The server refused a value: see the marked field.'));
    return true;
  }
  box.replaceChildren(notice('error', errorText(res)));
  return false;
}

// Clears the errors of every field element in "fields" (an array or an object's values).
export function clearErrors(fields) {
  for (const el of Array.isArray(fields) ? fields : Object.values(fields)) setFieldError(el, '');
}

// A list paged by "next_cursor": "load(cursor)" -> the API answer; "pick(body)" -> its rows. Returns
// {el, reload()}: the table, a "More" button while there are more, and a notice on a failure.
export function pagedTable(columns, load, pick, empty) {
  const el = h('div', { class: 'paged' });
  let rows = [];
  let next = null;
  async function page(cursor) {
    const res = await load(cursor);
    if (!res.ok) {
      el.replaceChildren(notice('error', errorText(res)));
      return res;
    }
    rows = cursor ? rows.concat(pick(res.body)) : pick(res.body);
    next = res.body.next_cursor || null;
    const parts = [table(columns, rows, { empty })];
    if (next) parts.push(button('More', () => page(next)));
    el.replaceChildren(...parts);
    return res;
  }
  return { el, reload: () => page(null) };
}

// A button copying "text()" to the clipboard; where the browser refuses, it selects "input" instead
// so that the person copies it with the keyboard.
export function copyButton(text, input) {
  const b = button('Copy', async () => {
    try {
      await navigator.clipboard.writeText(text());
      b.textContent = 'Copied';
    } catch (e) {
      if (input) {
        input.focus();
        input.select();
      }
      b.textContent = 'Press Ctrl+C to copy';
    }
  });
  return b;
}

// A definition list of [label, value] pairs (values: nodes or strings; null shows "-").
export function facts(pairs) {
  const dl = h('dl', { class: 'facts' });
  for (const [k, v] of pairs) dl.append(h('dt', {}, k), h('dd', {}, v === null || v === undefined ? '—' : v));
  return dl;
}

// A link to a job's page (every job id in the console is one), a dash without one.
export function jobLink(id) {
  return id ? linkJob(id) : '—';
}

// A status as a badge (class "badge-<name>" for its colour).
export function badge(status) {
  return h('span', { class: 'badge badge-' + String(status).toLowerCase().replace(/[^a-z_]/g, '') }, String(status));
}

// GET "path" every "ms" while the view is open: "apply(res)" on every answer. Returns {stop(), hold(action)}:
// hold runs "action" with no poll in flight or starting (a delete the next poll would meet as a 404).
export function poll(path, query, ms, apply) {
  let stopped = false;
  let timer = null;
  let inflight = null;
  let held = 0;
  async function tick() {
    if (stopped) return;
    if (!held) {
      inflight = api('GET', path, { query }).then((res) => {
        if (!stopped && !held) apply(res);
      }, () => { /* a network failure: try again at the next tick */ });
      await inflight;
      inflight = null;
    }
    if (!stopped) timer = setTimeout(tick, ms);
  }
  timer = setTimeout(tick, ms);
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
    async hold(action) {
      held += 1;
      try {
        if (inflight) await inflight;
        return await action();
      } finally {
        held -= 1;
      }
    },
  };
}
