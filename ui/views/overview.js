// overview.js - the overview at /ui/: jobs by status, the last hour (throughput, latency), runners, the oldest queued job.
import { api, apiPath, errorText, whoami } from '../lib/api.js';
import { h, notice, replace, svg, table, time } from '../lib/dom.js';
import { jobLink, jobWhat, statusBadge, STATUSES } from './jobcommon.js';

const REFRESH_MS = 5000;

function ms(v) {
  if (v === null || v === undefined) return '—';
  if (v >= 1000) return (v / 1000).toFixed(v >= 10000 ? 0 : 1) + ' s';
  return (v >= 10 ? v.toFixed(0) : v.toFixed(1)) + ' ms';
}

function countCards(jobs) {
  return h('ul', { class: 'cards', 'aria-label': 'Jobs by status' }, STATUSES.map((s) =>
    h('li', { class: 'card' },
      h('a', { href: '/ui/jobs?status=' + s },
        h('div', { class: 'label' }, statusBadge(s)),
        h('div', { class: 'value' }, String(jobs && typeof jobs[s] === 'number' ? jobs[s] : 0))))));
}

function peak(series) {
  return Math.max(0, ...series.map((m) => (m.completed || 0) + (m.failed || 0)));
}

// Completed (and failed, stacked above) jobs per minute over the hour: an SVG bar chart.
function chart(series) {
  const W = 600;
  const H = 140;
  const n = series.length || 60;
  const max = Math.max(1, peak(series));
  const bw = W / n;
  const bars = [];
  series.forEach((m, i) => {
    const ok = m.completed || 0;
    const bad = m.failed || 0;
    const hOk = (ok / max) * (H - 20);
    const hBad = (bad / max) * (H - 20);
    const x = (i * bw + 1).toFixed(1);
    const w = Math.max(1, bw - 2).toFixed(1);
    const title = svg('title', {}, new Date(m.minute).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' }) +
      ': ' + ok + ' completed, ' + bad + ' failed' + (m.p50_ms !== null && m.p50_ms !== undefined ?
      ', p50 ' + ms(m.p50_ms) + ', p95 ' + ms(m.p95_ms) : ''));
    const g = svg('g', {}, title);
    if (ok) g.appendChild(svg('rect', { class: 'bar-ok', x, y: (H - hOk).toFixed(1), width: w, height: hOk.toFixed(1) }));
    if (bad) g.appendChild(svg('rect', { class: 'bar-fail', x, y: (H - hOk - hBad).toFixed(1), width: w, height: hBad.toFixed(1) }));
    bars.push(g);
  });
  return svg('svg', {
    class: 'chart', viewBox: '0 0 ' + W + ' ' + H, preserveAspectRatio: 'none', role: 'img',
    'aria-label': 'Jobs finished per minute over the last hour, at most ' + peak(series) + ' in a minute',
  }, svg('line', { class: 'axis', x1: 0, y1: H - 0.5, x2: W, y2: H - 0.5 }), bars);
}

function lastHour(stats) {
  const series = Array.isArray(stats.series) ? stats.series : [];
  const completed = series.reduce((a, m) => a + (m.completed || 0), 0);
  const failed = series.reduce((a, m) => a + (m.failed || 0), 0);
  const tools = Array.isArray(stats.tools) ? stats.tools : [];
  const nameCell = (t) => (t.kind === 'agent' ? h('a', { href: apiPath`/ui/agents/${t.name}` }, 'agent ' + t.name) :
    h('a', { href: '/ui/jobs?' + new URLSearchParams({ tool: t.name }) }, t.name));
  return h('section', { 'aria-labelledby': 'ov-hour' },
    h('h2', { id: 'ov-hour' }, 'Last hour'),
    h('p', {}, String(completed), ' completed, ', String(failed), ' failed or timed out, ',
      (completed / 60).toFixed(2), ' jobs a minute.'),
    chart(series),
    h('div', { class: 'legend' },
      h('span', {}, '60 minutes ago → now; the tallest bar is ' + peak(series) + ' jobs (hover a bar for its minute)'),
      h('span', {}, h('span', { class: 'swatch swatch-ok' }), 'completed'),
      h('span', {}, h('span', { class: 'swatch swatch-fail' }), 'failed or timed out')),
    h('h2', {}, 'Throughput and latency by tool and agent'),
    table([
      { label: 'Tool or agent', cell: nameCell },
      { label: 'Submitted', cell: (t) => String(t.last_hour.submitted) },
      { label: 'Completed', cell: (t) => String(t.last_hour.completed) },
      { label: 'Failed', cell: (t) => String(t.last_hour.failed) },
      { label: 'Latency p50', cell: (t) => ms(t.last_hour.p50_ms) },
      { label: 'Latency p95', cell: (t) => ms(t.last_hour.p95_ms) },
    ], tools, { empty: 'No jobs in the last hour.' }));
}

function runnersSection(runners) {
  const list = Array.isArray(runners) ? runners : [];
  const slots = list.reduce((a, r) => a + (r.slots || 0), 0);
  const busy = list.reduce((a, r) => a + (r.busy || 0), 0);
  return h('section', { 'aria-labelledby': 'ov-runners' },
    h('h2', { id: 'ov-runners' }, 'Runners'),
    h('p', {}, list.length + ' runner' + (list.length === 1 ? '' : 's') + ', ' + busy + ' of ' + slots + ' slots busy.'),
    table([
      { label: 'Runner', cell: (r) => h('span', { class: 'mono' }, r.id) },
      { label: 'Slots', cell: (r) => r.busy + ' / ' + r.slots + ' busy' },
      { label: 'Paused', cell: (r) => (r.paused ? 'paused' : 'no') },
      { label: 'Last seen', cell: (r) => time(r.last_seen, { compact: true }) },
      { label: 'Started', cell: (r) => time(r.started_at, { compact: true }) },
      { label: 'Running', cell: (r) => (r.running && r.running.length ? r.running.map((j, i) => [i ? ', ' : '', jobLink(j.job_id, j.tool || 'agent')]) : '—') },
    ], list, { empty: 'No runner is running: queued jobs wait until one starts.' }));
}

// The last failed or timed-out jobs with their error, each a link: where a newcomer looks first.
async function recentFailures() {
  const me = await whoami();
  const r = await api('GET', '/api/v1/jobs', { query: { status: 'failed,timeout', limit: 5, owner: me && me.role === 'admin' ? '*' : undefined } });
  return r.ok && r.body ? r.body.jobs : null;
}

function failuresSection(jobs) {
  if (!jobs) return null;
  return h('section', { 'aria-labelledby': 'ov-failed' },
    h('h2', { id: 'ov-failed' }, 'Latest failures'),
    jobs.length === 0 ? h('p', {}, 'No job failed.') : table([
      { label: 'Job', cell: (j) => jobLink(j.job_id) },
      { label: 'Runs', cell: jobWhat },
      { label: 'Finished', cell: (j) => time(j.completed_at, { compact: true }) },
      { label: 'Why', class: 'wrap', cell: (j) => h('span', { class: 'field-error' }, j.error ? (j.error.code ? j.error.code + ': ' : '') + (j.error.message || '') : j.status) },
    ], jobs),
    h('p', {}, h('a', { href: '/ui/jobs?status=failed%2Ctimeout' }, 'All failed jobs')));
}

function body(stats, failures) {
  const oldest = stats.oldest_pending;
  const paused = stats.paused || {};
  return [
    paused.all ? notice('info', 'Claiming is paused for every tool: queued jobs wait.') : null,
    paused.tools && paused.tools.length ? notice('info', 'Claiming is paused for ' + paused.tools.join(', ') + '.') : null,
    h('p', { class: 'muted' }, stats.scope === 'all' ? 'Every owner\u2019s jobs (admin).' : 'Your jobs.',
      ' Updated ', time(stats.generated_at), '.'),
    h('section', { 'aria-labelledby': 'ov-status' }, h('h2', { id: 'ov-status' }, 'Jobs by status'), countCards(stats.jobs)),
    failuresSection(failures),
    h('section', { 'aria-labelledby': 'ov-oldest' }, h('h2', { id: 'ov-oldest' }, 'Oldest queued job'),
      oldest ? h('p', {}, jobLink(oldest.job_id), ' queued ', time(oldest.queued_at), ', waiting ',
        ms(oldest.age_s * 1000), '.') : h('p', {}, 'No job is waiting.')),
    lastHour(stats),
    runnersSection(stats.runners),
  ];
}

export async function render(root) {
  document.title = 'Overview - vex';
  const content = h('div', { 'aria-live': 'off' });
  root.append(h('h1', {}, 'Overview'), content);
  let timer = null;
  let gone = false;
  const load = async () => {
    let r = null;
    let failures = null;
    try {
      [r, failures] = await Promise.all([api('GET', '/api/v1/stats'), recentFailures()]);
    } catch {
      r = null;
    }
    if (gone) return;
    // Keyboard focus inside the numbers: this round leaves them, so the focus is not lost.
    if (r && r.ok && r.body) {
      if (!content.contains(document.activeElement)) replace(content, body(r.body, failures));
    }
    else content.replaceChildren(notice('error', 'The numbers could not be read: ' + errorText(r)));
    timer = setTimeout(load, REFRESH_MS);
  };
  await load();
  return () => {
    gone = true;
    clearTimeout(timer);
  };
}
