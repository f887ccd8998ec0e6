// job.js - one job at /ui/jobs/<id>: why it failed first, then a live timeline and progress from its event
// stream, its input and result as JSON, retry and cancel, and the webhook deliveries it caused.
import { api, apiPath, errorText, openJobStream, TERMINAL } from '../lib/api.js';
import { button, confirmAction, h, json, notice, table, time } from '../lib/dom.js';
import { jobLink, jobWhat, statusBadge } from './jobcommon.js';

const EVENT_TEXT = {
  queued: 'queued', started: 'started', progress: 'progress', cancel_requested: 'cancel requested',
  requeued: 'requeued (lease expired or runner stopped)', completed: 'completed', failed: 'failed',
  timeout: 'timed out', canceled: 'canceled', poll: 'status',
};

function errorBox(job) {
  const e = job.error;
  if (!e) return null;
  const title = job.status === 'canceled' ? 'Why it was canceled' : job.status === 'timeout' ? 'Why it timed out' : 'Why it failed';
  return h('section', { class: 'job-error', role: 'alert', 'aria-labelledby': 'job-error-title' },
    h('h2', { id: 'job-error-title' }, title),
    h('p', { class: 'message' }, e.message || '(no message)'),
    h('p', {}, 'Error code ', h('code', {}, e.code || '—')),
    e.details && Object.keys(e.details).length ? [h('p', {}, 'Details'), json(e.details)] : null);
}

function progressBlock(job) {
  const p = job.progress;
  if (!p) return null;
  const pct = typeof p.percentage === 'number' ? Math.max(0, Math.min(100, p.percentage)) : 0;
  const step = p.total_steps ? 'step ' + p.current_step + ' of ' + p.total_steps : 'step ' + p.current_step;
  return h('div', { class: 'progress' },
    h('progress', { max: 100, value: pct, 'aria-label': 'Progress', id: 'job-progress' }),
    h('span', {}, pct.toFixed(0) + '% · ' + step + (p.message ? ' · ' + p.message : '')));
}

function facts(job) {
  const rows = [
    ['Status', statusBadge(job.status)],
    ['Kind', job.kind || '—'],
    ['Runs', jobWhat(job)],
    job.agent_id ? ['Agent', h('a', { href: apiPath`/ui/agents/${job.agent_id}`, class: 'mono' }, job.agent_id)] : null,
    ['Queued', time(job.queued_at)],
    ['Started', time(job.started_at)],
    ['Finished', time(job.completed_at)],
    ['Attempts', String(job.attempts)],
    job.tokens_used && (job.tokens_used.input || job.tokens_used.output) ?
      ['Tokens', job.tokens_used.input + ' in, ' + job.tokens_used.output + ' out'] : null,
    job.final_model ? ['Model', job.final_model] : null,
    job.cancel_requested ? ['Cancel', 'requested: the runner is stopping it'] : null,
    job.retry_of ? ['Retry of', jobLink(job.retry_of)] : null,
    job.retried_by ? ['Retried by', jobLink(job.retried_by)] : null,
  ].filter(Boolean);
  return h('dl', { class: 'facts' }, rows.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

// Milestones from the job's own times, and the changes heard live (progress, cancel, requeue).
function timeline(job, heard) {
  const items = [['queued', job.queued_at, null]];
  if (job.started_at) items.push(['started', job.started_at, null]);
  for (const e of heard) items.push([e.name, e.at, e.note]);
  if (TERMINAL.has(job.status)) items.push([job.status, job.completed_at, job.error ? job.error.message : null]);
  return h('ol', { class: 'timeline', 'aria-label': 'Timeline' }, items.map(([name, at, note]) =>
    h('li', {}, h('span', { class: 'event' }, EVENT_TEXT[name] || name), time(at), note ? [' — ', note] : null)));
}

// What the job was given (GET /api/v1/jobs/{id}/input): a tool job's arguments, an agent job's prompt.
function inputBlock(r) {
  if (!r) return h('p', { class: 'muted' }, 'Reading the input\u2026');
  if (!r.ok || !r.body) return notice('error', 'The input could not be read: ' + errorText(r));
  return json(r.body.input);
}

function deliveriesTable(list) {
  return table([
    { label: 'Event', cell: (d) => d.event },
    { label: 'Delivery', cell: (d) => (d.webhook_id ? h('a', { href: apiPath`/ui/webhooks/${d.webhook_id}`, class: 'mono' }, d.id) : h('span', { class: 'mono' }, d.id)) },
    { label: 'Status', cell: (d) => d.status },
    { label: 'Attempts', cell: (d) => String(d.attempts) },
    { label: 'Last answer', cell: (d) => (d.last_status_code ? 'HTTP ' + d.last_status_code : '—') + (d.last_error ? ' · ' + d.last_error : '') },
    { label: 'Created', cell: (d) => time(d.created_at, { compact: true }) },
    { label: 'Delivered', cell: (d) => time(d.delivered_at, { compact: true }) },
  ], list, { empty: 'No webhook heard of this job.' });
}

export async function render(root, { params, navigate }) {
  const id = params.id;
  document.title = 'Job - vex';
  const r = await api('GET', apiPath`/api/v1/jobs/${id}`);
  if (!r.ok) {
    root.append(h('h1', {}, r.status === 404 ? 'Job not found' : 'Job'),
      notice('error', r.status === 404 ? 'No job ' + id + ' that you may see.' : errorText(r)),
      h('p', {}, h('a', { href: '/ui/jobs' }, 'All jobs')));
    return null;
  }
  let job = r.body;
  let input = null;
  const heard = [];
  const status = h('div', { class: 'status' });
  const parts = {
    head: h('div', { class: 'job-head' }), error: h('div'), progress: h('div'), actions: h('div', { class: 'actions' }),
    facts: h('div'), timeline: h('div'), input: h('div'), result: h('div'), deliveries: h('div'),
  };
  root.append(h('h1', {}, 'Job ', h('span', { class: 'mono' }, id)), parts.head, status, parts.error, parts.progress,
    parts.actions, parts.facts,
    h('div', { class: 'grid-2' },
      h('section', { 'aria-labelledby': 'job-tl' }, h('h2', { id: 'job-tl' }, 'Timeline'), parts.timeline),
      h('section', { 'aria-labelledby': 'job-in' }, h('h2', { id: 'job-in' }, 'Input'), parts.input)),
    h('section', { 'aria-labelledby': 'job-res' }, h('h2', { id: 'job-res' }, 'Result'), parts.result),
    h('section', { 'aria-labelledby': 'job-dl' }, h('h2', { id: 'job-dl' }, 'Webhook deliveries'), parts.deliveries));

  async function cancel() {
    if (!(await confirmAction('Cancel job ' + id + '?', { confirmLabel: 'Cancel job', cancelLabel: 'Keep it' }))) return;
    const c = await api('POST', apiPath`/api/v1/jobs/${id}/cancel`);
    if (!c.ok) {
      status.replaceChildren(notice('error', 'Cancel failed: ' + errorText(c)));
      return;
    }
    update(c.body);
    status.replaceChildren(notice('ok', c.body.status === 'canceled' ? 'The job is canceled.' : 'Cancel requested: the runner is stopping the job.'));
  }
  async function retry() {
    const c = await api('POST', apiPath`/api/v1/jobs/${id}/retry`);
    if (!c.ok) {
      status.replaceChildren(notice('error', 'Retry failed: ' + errorText(c)));
      return;
    }
    navigate(apiPath`/ui/jobs/${c.body.job_id}`);
  }

  function draw() {
    document.title = 'Job ' + job.status + ' - vex';
    parts.head.replaceChildren(statusBadge(job.status), h('span', {}, jobWhat(job)), h('a', { href: '/ui/jobs' }, 'All jobs'));
    parts.error.replaceChildren(...[errorBox(job)].filter(Boolean));
    parts.progress.replaceChildren(...[job.status === 'running' ? progressBlock(job) : null].filter(Boolean));
    const acts = [];
    if ((job.status === 'pending' || job.status === 'running') && !job.cancel_requested) acts.push(button('Cancel job', cancel, { kind: 'danger' }));
    if (['failed', 'timeout', 'canceled'].includes(job.status) && !job.retried_by) acts.push(button('Retry', retry, { kind: 'primary' }));
    if (!parts.actions.contains(document.activeElement) || acts.length === 0) parts.actions.replaceChildren(...acts);
    parts.facts.replaceChildren(facts(job));
    parts.timeline.replaceChildren(timeline(job, heard));
    parts.input.replaceChildren(inputBlock(input));
    parts.result.replaceChildren(job.result === null || job.result === undefined ?
      h('p', { class: 'muted' }, TERMINAL.has(job.status) ? 'No result.' : 'Not finished yet.') : json(job.result));
  }
  function update(next) {
    if (!next || next.job_id !== job.job_id) return;
    job = next;
    draw();
  }
  // Deliveries still pending (the runner sends them after the job's change) are read again every
  // 2 s, a minute at most.
  let deliveryTimer = null;
  let deliveryRounds = 0;
  async function loadDeliveries() {
    clearTimeout(deliveryTimer);
    const d = await api('GET', apiPath`/api/v1/jobs/${id}/deliveries`).catch(() => null);
    if (gone) return;
    const list = d && d.ok && d.body ? d.body.deliveries || [] : null;
    parts.deliveries.replaceChildren(list ? deliveriesTable(list) :
      notice('error', 'The deliveries could not be read: ' + errorText(d)));
    if (list && list.some((x) => x.status === 'pending') && ++deliveryRounds < 30) {
      deliveryTimer = setTimeout(loadDeliveries, 2000);
    }
  }

  let gone = false;
  let close = null;
  draw();
  loadDeliveries();
  api('GET', apiPath`/api/v1/jobs/${id}/input`).catch(() => null).then((ir) => {
    if (gone) return;
    input = ir || { ok: false, status: 0, body: null };
    parts.input.replaceChildren(inputBlock(input));
  });
  if (!TERMINAL.has(job.status)) {
    openJobStream(id, (name, next) => {
      if (gone) return;
      if (['progress', 'cancel_requested', 'requeued'].includes(name)) {
        const p = next.progress;
        heard.push({ name, at: new Date().toISOString(),
          note: name === 'progress' && p ? (p.percentage !== undefined ? Number(p.percentage).toFixed(0) + '%' : '') + (p.message ? ' ' + p.message : '') : null });
      }
      update(next);
      if (TERMINAL.has(next.status)) loadDeliveries();
    }).then((c) => {
      if (gone) c();
      else close = c;
    });
  }
  return () => {
    gone = true;
    clearTimeout(deliveryTimer);
    if (close) close();
  };
}
