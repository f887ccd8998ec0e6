// jobcommon.js - what the job views share: status names and badges, links to a job, a job's short description.
import { apiPath } from '../lib/api.js';
import { h } from '../lib/dom.js';

// The vex dialect's statuses (docs/api-vex.md), in the order a job goes through them.
export const STATUSES = ['pending', 'running', 'completed', 'failed', 'canceled', 'timeout'];
const LABELS = { pending: 'queued' };

export function statusBadge(status) {
  const s = String(status);
  return h('span', { class: 'badge badge-' + (STATUSES.includes(s) ? s : 'other') }, LABELS[s] || s);
}

// A link to the job's page; the text is its id unless "label" is given.
export function jobLink(id, label) {
  return h('a', { href: apiPath`/ui/jobs/${id}`, class: label ? '' : 'mono' }, label || String(id));
}

// What the job runs: its tool, or a link to its agent.
export function jobWhat(job) {
  if (job.kind === 'agent' && job.agent_id) return h('a', { href: apiPath`/ui/agents/${job.agent_id}` }, 'agent');
  return job.tool ? h('span', { class: 'mono' }, job.tool) : '—';
}
