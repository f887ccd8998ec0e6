// webhooks.js - /ui/webhooks (list, create with the secret shown once) and /ui/webhooks/<id> (enable/disable, delete, the delivery log, re-send).
import { h, time, json, notice, button, table, field, setFieldError, confirmAction } from '../lib/dom.js';
import { api, errorText } from '../lib/api.js';
import { heading, showError, clearErrors, pagedTable, facts, jobLink, badge, poll, copyButton } from './kit.js';

const EVENTS = ['job.queued', 'job.started', 'job.completed', 'job.failed', 'job.canceled', 'job.timeout'];

export async function render(root, { params, navigate }) {
  if (params && params.id) return renderHook(root, params.id, navigate);
  return renderList(root);
}

function hookHref(id) {
  return '/ui/webhooks/' + encodeURIComponent(id);
}

function hookApi(id) {
  return '/api/v1/webhooks/' + encodeURIComponent(id);
}

// ---- the list and the create form ----

async function renderList(root) {
  heading(root, 'Webhooks');
  const list = pagedTable(
    [
      { label: 'URL', cell: (w) => h('a', { href: hookHref(w.id), class: 'break' }, w.url) },
      { label: 'Description', cell: (w) => w.description || '—' },
      { label: 'Events', cell: (w) => w.events.join(', ') },
      { label: 'Status', cell: (w) => badge(w.status) },
      { label: 'Created', cell: (w) => time(w.created_at) },
    ],
    (cursor) => api('GET', '/api/v1/webhooks', { query: { limit: 50, cursor } }),
    (body) => body.webhooks || [],
    'No webhooks yet: create one below.'
  );
  root.append(list.el, createForm(list));
  await list.reload();
}

function createForm(list) {
  const url = h('input', { id: 'hook-url', name: 'url', type: 'url', required: true, autocomplete: 'off' });
  const description = h('input', { id: 'hook-description', name: 'description', autocomplete: 'off', maxlength: 500 });
  const boxes = EVENTS.map((e) => h('input', { type: 'checkbox', id: 'hook-event-' + e.slice(4), value: e, checked: true }));
  const eventsError = h('p', { class: 'field-error', id: 'hook-events-error', hidden: true });
  const events = h('fieldset', { class: 'checks', 'aria-describedby': 'hook-events-error' }, h('legend', {}, 'Events'),
    ...boxes.map((b) => h('label', { for: b.id, class: 'check' }, b, ' ' + b.value)), eventsError);
  const fields = {
    url: field('URL (required)', url, { hint: 'Where vex POSTs each event: http or https.' }),
    description: field('Description', description, { hint: 'Optional, at most 500 characters.' }),
  };
  const box = h('div', { class: 'form-status' });
  const secret = h('div', { class: 'once' });
  const form = h('form', { class: 'stack', novalidate: true }, h('h2', {}, 'Create a webhook'),
    fields.url, events, fields.description, box, h('button', { type: 'submit', class: 'btn btn-primary' }, 'Create webhook'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors([fields.url, fields.description, events]);
    box.replaceChildren();
    const chosen = boxes.filter((b) => b.checked).map((b) => b.value);
    let bad = false;
    if (!/^https?:\/\/\S+$/i.test(url.value.trim())) {
      setFieldError(fields.url, 'A URL starting with http or https is required.');
      url.focus();
      bad = true;
    }
    if (!chosen.length) {
      setFieldError(events, 'Choose at least one event.');
      if (!bad) boxes[0].focus();
      bad = true;
    }
    if (bad) return;
    const body = { url: url.value.trim(), events: chosen };
    if (description.value) body.description = description.value;
    const res = await api('POST', '/api/v1/webhooks', { body });
    if (!res.ok) {
      showError(res, (name) => fields[name] || (name === 'events' ? events : null), box);
      return;
    }
    form.reset();
    secret.replaceChildren(...secretOnce(res.body));
    secret.querySelector('input').focus();
    await list.reload();
  });
  return h('div', {}, secret, form);
}

// The signing secret: shown here, once, never again.
function secretOnce(hook) {
  const input = h('input', { id: 'hook-secret', readonly: true, value: hook.secret || '', class: 'mono', autocomplete: 'off' });
  return [
    notice('ok', 'Webhook created.'),
    field('Signing secret', input, {
      hint: 'Shown only now: copy it into the receiver, which checks each delivery\'s signature with it. ' +
        'A lost secret is replaced by deleting the webhook and creating another.',
    }),
    h('div', { class: 'actions' }, copyButton(() => input.value, input),
      h('a', { href: hookHref(hook.id) }, 'Open the webhook')),
  ];
}

// ---- one webhook ----

async function renderHook(root, id, navigate) {
  heading(root, 'Webhook');
  const res = await api('GET', hookApi(id));
  if (!res.ok) {
    root.append(notice('error', res.status === 404 ? 'No such webhook (it may have been deleted).' : errorText(res)),
      h('p', {}, h('a', { href: '/ui/webhooks' }, 'All webhooks')));
    return undefined;
  }
  let hook = res.body;
  heading(root, 'Webhook', hook.description || hook.url);
  const info = h('div');
  const actions = h('div', { class: 'actions' });
  const status = h('div', { class: 'form-status' });
  const log = deliveryLog(hook.id, status);

  function show() {
    info.replaceChildren(facts([
      ['Id', hook.id],
      ['URL', h('span', { class: 'break' }, hook.url)],
      ['Description', hook.description],
      ['Events', hook.events.join(', ')],
      ['Status', badge(hook.status)],
      ['Why disabled', hook.disabled_reason],
      ['Failing since', time(hook.failing_since)],
      ['Last error', hook.last_error],
      ['Created', time(hook.created_at)],
      ['Updated', time(hook.updated_at)],
    ]));
    const active = hook.status === 'active';
    actions.replaceChildren(button(active ? 'Disable' : 'Enable', () => setStatus(active ? 'disabled' : 'active')),
      button('Delete webhook', remove, { kind: 'danger' }));
  }
  async function setStatus(next) {
    const r = await api('PATCH', hookApi(hook.id), { body: { status: next } });
    if (!r.ok) {
      status.replaceChildren(notice('error', errorText(r)));
      return;
    }
    hook = r.body;
    status.replaceChildren(notice('ok', next === 'active' ? 'Enabled: later events are delivered.' : 'Disabled: nothing is delivered.'));
    show();
  }
  async function remove() {
    if (!(await confirmAction('Delete the webhook to ' + hook.url + '? Its pending deliveries are canceled.'))) return;
    const r = await log.hold(() => api('DELETE', hookApi(hook.id)));
    if (!r.ok) {
      status.replaceChildren(notice('error', errorText(r)));
      return;
    }
    navigate('/ui/webhooks');
  }

  show();
  root.append(info, actions, status, h('h2', {}, 'Deliveries'), log.el);
  await log.reload();
  return log.stop;
}

// The delivery log, newest first, each with its request body and attempts; refreshed every 3 s.
// Only the deliveries that changed are rebuilt, so what is open, the focus and a button about to be
// clicked stay where they are.
function deliveryLog(hookId, status) {
  const el = h('div', { class: 'deliveries' });
  const open = new Set();
  const shown = new Map(); // delivery id -> {text, node}
  let first = [];
  let more = [];
  let next = null;
  let moreBtn = null;

  function paint() {
    const items = first.concat(more);
    if (!items.length) {
      el.replaceChildren(h('p', { class: 'empty' }, 'No deliveries yet: they appear when a job of this webhook\'s owner changes.'));
      shown.clear();
      return;
    }
    const keep = new Set();
    const nodes = items.map((d) => {
      const text = JSON.stringify(d);
      keep.add(d.id);
      const was = shown.get(d.id);
      if (was && was.text === text) return was.node;
      const node = delivery(d, open, resend);
      if (was) was.node.replaceWith(node);
      shown.set(d.id, { text, node });
      return node;
    });
    if (moreBtn) moreBtn.remove();
    moreBtn = next ? button('More', loadMore) : null;
    if (moreBtn) nodes.push(moreBtn);
    for (const id of [...shown.keys()]) if (!keep.has(id)) shown.delete(id);
    for (const child of [...el.children]) if (!nodes.includes(child)) child.remove();
    nodes.forEach((node, i) => {
      if (el.children[i] !== node) el.insertBefore(node, el.children[i] || null);
    });
  }
  async function load() {
    const res = await api('GET', hookApi(hookId) + '/deliveries', { query: { limit: 20 } });
    if (!res.ok) {
      el.replaceChildren(notice('error', errorText(res)));
      shown.clear();
      return;
    }
    first = res.body.deliveries;
    if (!more.length) next = res.body.next_cursor || null;
    paint();
  }
  async function loadMore() {
    const res = await api('GET', hookApi(hookId) + '/deliveries', { query: { limit: 20, before: next } });
    if (!res.ok) {
      status.replaceChildren(notice('error', errorText(res)));
      return;
    }
    more = more.concat(res.body.deliveries.filter((d) => !first.some((f) => f.id === d.id)));
    next = res.body.next_cursor || null;
    paint();
  }
  async function resend(d) {
    const res = await api('POST', hookApi(hookId) + '/deliveries/' + encodeURIComponent(d.id) + '/resend');
    if (!res.ok) {
      status.replaceChildren(notice('error', errorText(res)));
      return;
    }
    status.replaceChildren(notice('ok', 'Re-sent as ' + res.body.id + ': it appears at the top of the log.'));
    await load();
  }
  const polling = poll(hookApi(hookId) + '/deliveries', { limit: 20 }, 3000, (res) => {
    if (res.ok) {
      first = res.body.deliveries;
      paint();
    }
  });
  return { el, reload: load, stop: polling.stop, hold: polling.hold };
}

function delivery(d, open, resend) {
  const head = h('summary', {},
    h('span', { class: 'event' }, d.event), ' ', badge(d.status), ' ',
    h('span', { class: 'muted' }, d.attempts + (d.attempts === 1 ? ' attempt' : ' attempts') +
      (d.last_status_code !== null && d.last_status_code !== undefined ? ', HTTP ' + d.last_status_code : '')),
    ' ', time(d.created_at));
  const body = h('div', { class: 'delivery-body' },
    facts([
      ['Delivery', d.id],
      ['Job', jobLink(d.job_id)],
      ['Re-send of', d.resend_of || null],
      ['Next attempt', d.next_attempt_at ? time(d.next_attempt_at) : null],
      ['Delivered', time(d.delivered_at)],
      ['Last error', d.last_error],
    ]),
    h('h3', {}, 'Request body'),
    requestBody(d),
    h('h3', {}, 'Attempts'),
    table(
      [
        { label: '#', cell: (a) => String(a.n) },
        { label: 'At', cell: (a) => time(a.at) },
        { label: 'Status', cell: (a) => (a.status_code === null ? 'no answer' : String(a.status_code)) },
        { label: 'Took', cell: (a) => a.duration_ms + ' ms' },
        { label: 'Error', cell: (a) => a.error || '—' },
        { label: 'Response body', cell: (a) => (a.response_body ? h('pre', { class: 'response' }, a.response_body) : '—') },
      ],
      d.attempt_log || [],
      { empty: 'Not attempted yet.' }
    ),
    h('div', { class: 'actions' }, (() => {
      const b = button('Re-send', () => resend(d));
      b.setAttribute('aria-label', 'Re-send delivery ' + d.id);
      return b;
    })()));
  const el = h('details', { class: 'delivery', 'data-id': d.id }, head, body);
  el.open = open.has(d.id);
  el.addEventListener('toggle', () => (el.open ? open.add(d.id) : open.delete(d.id)));
  return el;
}

// The exact body sent, pretty-printed when it is JSON (it always is), else as the text it is.
function requestBody(d) {
  const text = d.request && typeof d.request.body === 'string' ? d.request.body : null;
  if (text === null) return h('p', { class: 'muted' }, 'Not recorded.');
  try {
    return json(JSON.parse(text));
  } catch (e) {
    return h('pre', { class: 'json' }, text);
  }
}
