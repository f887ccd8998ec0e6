// jobs.js - the job list at /ui/jobs: filters kept in the URL's query (a filtered list is a deep link), cursor
// paging, live refresh of the first page, and for admins cancel by filter after a confirmation with the count.
import { api, errorText, whoami } from '../lib/api.js';
import { button, confirmAction, field, h, notice, replace, setFieldError, table, time } from '../lib/dom.js';
import { jobLink, jobWhat, statusBadge, STATUSES } from './jobcommon.js';

const REFRESH_MS = 5000;
const PAGE = 50;
// The query parameters of GET /api/v1/jobs this view passes on (docs/api-vex.md).
const FILTERS = ['status', 'kind', 'tool', 'agent_id', 'created_after', 'created_before', 'owner'];
const COUNT_PAGES = 10;

// "2026-01-02T03:04:05Z" -> the datetime-local value in the viewer's zone ("2026-01-02T04:04").
function toLocalInput(iso) {
  const d = new Date(iso);
  if (!iso || Number.isNaN(d.getTime())) return '';
  const p = (n) => String(n).padStart(2, '0');
  return d.getFullYear() + '-' + p(d.getMonth() + 1) + '-' + p(d.getDate()) + 'T' + p(d.getHours()) + ':' + p(d.getMinutes());
}

function fromLocalInput(v) {
  if (!v) return '';
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? v : d.toISOString();
}

function select(name, options, value) {
  const s = h('select', { name });
  const known = options.map((o) => o[0]);
  if (value && !known.includes(value)) options = options.concat([[value, value]]);
  for (const [v, label] of options) s.appendChild(h('option', { value: v, selected: v === (value || '') }, label));
  return s;
}

function filterForm(query, admin, onApply) {
  const inputs = {
    status: select('status', [['', 'any']].concat(STATUSES.map((s) => [s, s === 'pending' ? 'queued (pending)' : s]),
      [['failed,timeout', 'failed or timed out'], ['pending,running', 'queued or running']]), query.status),
    kind: select('kind', [['', 'any'], ['tool', 'tool'], ['agent', 'agent']], query.kind),
    tool: h('input', { name: 'tool', type: 'text', value: query.tool || '', placeholder: 'e.g. echo', autocomplete: 'off' }),
    agent_id: h('input', { name: 'agent_id', type: 'text', value: query.agent_id || '', placeholder: 'agent UUID', autocomplete: 'off' }),
    created_after: h('input', { name: 'created_after', type: 'datetime-local', value: toLocalInput(query.created_after) }),
    created_before: h('input', { name: 'created_before', type: 'datetime-local', value: toLocalInput(query.created_before) }),
  };
  if (admin) inputs.owner = h('input', { name: 'owner', type: 'text', value: query.owner || '', placeholder: '* = every owner', autocomplete: 'off' });
  const labels = { status: 'Status', kind: 'Kind', tool: 'Tool', agent_id: 'Agent', created_after: 'Created after',
    created_before: 'Created before', owner: 'Owner' };
  const fields = {};
  for (const k of Object.keys(inputs)) fields[k] = field(labels[k], inputs[k]);
  const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter jobs' },
    Object.values(fields), h('div', { class: 'actions' }, button('Apply', null, { type: 'submit', kind: 'primary' }),
      h('a', { href: '/ui/jobs', class: 'btn' }, 'Clear')));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const q = {};
    for (const k of Object.keys(inputs)) {
      const v = k.startsWith('created_') ? fromLocalInput(inputs[k].value) : inputs[k].value.trim();
      if (v) q[k] = v;
    }
    onApply(q);
  });
  return { form, fields };
}

function listTable(jobs) {
  return table([
    { label: 'Job', cell: (j) => jobLink(j.job_id) },
    { label: 'Status', cell: (j) => statusBadge(j.status) },
    { label: 'What', cell: jobWhat },
    { label: 'Queued', cell: (j) => time(j.queued_at, { compact: true }) },
    { label: 'Finished', cell: (j) => time(j.completed_at, { compact: true }) },
    { label: 'Attempts', cell: (j) => String(j.attempts) },
    { label: 'Error', class: 'wrap', cell: (j) => (j.error ? h('span', { class: 'field-error' }, (j.error.code ? j.error.code + ': ' : '') + (j.error.message || '')) : '') },
  ], jobs, { empty: 'No job matches.' });
}

// The cancel-by-filter body for the current filters, or null when they cannot select live jobs.
function cancelFilter(query) {
  const live = (query.status ? query.status.split(',') : ['pending', 'running']).filter((s) => s === 'pending' || s === 'running');
  if (live.length === 0) return null;
  const body = { status: live };
  for (const k of ['tool', 'agent_id', 'created_after', 'created_before']) if (query[k]) body[k] = query[k];
  if (query.owner && query.owner !== '*') body.owner = query.owner;
  return body;
}

// How many jobs the cancel would look at, counted by listing them (every owner unless one is named).
async function countLive(body) {
  const q = { status: body.status.join(','), tool: body.tool, agent_id: body.agent_id, created_after: body.created_after,
    created_before: body.created_before, owner: body.owner || '*', limit: 100 };
  let n = 0;
  for (let page = 0; page < COUNT_PAGES; page++) {
    const r = await api('GET', '/api/v1/jobs', { query: q });
    if (!r.ok) throw new Error(errorText(r));
    n += r.body.jobs.length;
    if (!r.body.next_cursor) return { n, more: false };
    q.cursor = r.body.next_cursor;
  }
  return { n, more: true };
}

export async function render(root, { query, navigate }) {
  document.title = 'Jobs - vex';
  const me = await whoami();
  const admin = !!(me && me.role === 'admin');
  const q = {};
  for (const k of FILTERS) if (query[k]) q[k] = query[k];
  const cursor = query.cursor || '';
  const go = (nq) => navigate('/ui/jobs' + (Object.keys(nq).length ? '?' + new URLSearchParams(nq) : ''));
  const { form, fields } = filterForm(q, admin, go);
  const status = h('div', { class: 'status' });
  const list = h('div', { class: 'list' });
  const pager = h('nav', { class: 'pager', 'aria-label': 'Pages' });
  // On a phone the filters fold away unless some are set.
  const wide = window.matchMedia('(min-width: 641px)').matches;
  const filters = h('details', { class: 'filter-box', open: wide || Object.keys(q).length > 0 },
    h('summary', {}, 'Filters' + (Object.keys(q).length ? ' (' + Object.keys(q).length + ' set)' : '')), form);
  root.append(h('h1', {}, 'Jobs'), filters, status, list, pager);

  if (admin) {
    const body = cancelFilter(q);
    const cancelBtn = button('Cancel matching jobs…', async () => {
      status.replaceChildren();
      let count;
      try {
        count = await countLive(body);
      } catch (e) {
        status.replaceChildren(notice('error', 'Could not count the jobs: ' + e.message));
        return;
      }
      const scope = body.owner ? 'of ' + body.owner : 'of every owner';
      const text = 'Cancel ' + count.n + (count.more ? ' or more' : '') + ' queued or running job' +
        (count.n === 1 ? '' : 's') + ' ' + scope + ' matching these filters' + (q.kind ? ' (any kind)' : '') + '?';
      if (!(await confirmAction(text, { confirmLabel: 'Cancel jobs', cancelLabel: 'Keep them' }))) return;
      const r = await api('POST', '/api/v1/jobs/cancel', { body });
      if (!r.ok) {
        status.replaceChildren(notice('error', 'Cancel failed: ' + errorText(r)));
        return;
      }
      status.replaceChildren(notice('ok', 'Canceled ' + r.body.canceled + ' queued job(s); asked ' +
        r.body.cancel_requested + ' running job(s) to stop.'));
      load();
    }, { kind: 'danger' });
    if (!body) cancelBtn.disabled = true;
    form.querySelector('.actions').appendChild(cancelBtn);
  }

  let timer = null;
  let gone = false;
  async function load() {
    clearTimeout(timer);
    let r = null;
    try {
      r = await api('GET', '/api/v1/jobs', { query: Object.assign({}, q, { limit: PAGE, cursor }) });
    } catch {
      r = null;
    }
    if (gone) return;
    for (const f of Object.values(fields)) setFieldError(f, '');
    if (!r || !r.ok) {
      const fname = r && r.body && r.body.error && r.body.error.field;
      if (fname && fields[fname]) setFieldError(fields[fname], errorText(r));
      list.replaceChildren(notice('error', 'The jobs could not be listed: ' + errorText(r)));
      pager.replaceChildren();
      return;
    }
    if (!list.contains(document.activeElement)) list.replaceChildren(listTable(r.body.jobs));
    const next = r.body.next_cursor;
    replace(pager,
      cursor ? h('a', { href: '/ui/jobs' + (Object.keys(q).length ? '?' + new URLSearchParams(q) : ''), class: 'btn' }, 'First page') : null,
      next ? h('a', { href: '/ui/jobs?' + new URLSearchParams(Object.assign({}, q, { cursor: next })), class: 'btn' }, 'Next page') : null);
    // The first page follows new jobs; a later page stays as it was.
    if (!cursor) timer = setTimeout(load, REFRESH_MS);
  }
  await load();
  return () => {
    gone = true;
    clearTimeout(timer);
  };
}
