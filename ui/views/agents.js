// agents.js - /ui/agents (list, create) and /ui/agents/<id> (facts, run, pause/resume, delete, history).
import { h, time, notice, button, field, setFieldError, confirmAction } from '../lib/dom.js';
import { api, errorText, whoami } from '../lib/api.js';
import { statusBadge } from './jobcommon.js';
import { heading, showError, clearErrors, pagedTable, facts, jobLink, badge, poll } from './kit.js';

export async function render(root, { params, navigate }) {
  if (params && params.id) return renderAgent(root, params.id, navigate);
  return renderList(root, navigate);
}

// ---- the list and the create form ----

async function renderList(root, navigate) {
  heading(root, 'Agents');
  const list = pagedTable(
    [
      { label: 'Name', cell: (a) => h('a', { href: '/ui/agents/' + encodeURIComponent(a.id) }, a.name) },
      { label: 'Status', cell: (a) => badge(a.status) },
      { label: 'Model', cell: (a) => a.model || 'default' },
      { label: 'Max depth', cell: (a) => String(a.max_depth) },
      { label: 'Created', cell: (a) => time(a.created_at) },
    ],
    (cursor) => api('GET', '/api/v1/agents', { query: { limit: 50, cursor } }),
    (body) => body.agents || [],
    'No agents yet: create one below.'
  );
  root.append(list.el, createForm(navigate));
  await list.reload();
}

function createForm(navigate) {
  const inputs = {
    name: h('input', { id: 'agent-name', name: 'name', required: true, maxlength: 100, autocomplete: 'off' }),
    role: h('textarea', { id: 'agent-role', name: 'role', required: true, rows: 3 }),
    max_depth: h('input', { id: 'agent-max-depth', name: 'max_depth', inputmode: 'numeric', value: '3' }),
    spawn_shadow: h('input', { id: 'agent-shadow', name: 'spawn_shadow', type: 'checkbox' }),
    model: h('input', { id: 'agent-model', name: 'model', autocomplete: 'off' }),
    tools: h('input', { id: 'agent-tools', name: 'tools', autocomplete: 'off' }),
    base_url: h('input', { id: 'agent-base-url', name: 'base_url', type: 'url', autocomplete: 'off' }),
  };
  const fields = {
    name: field('Name (required)', inputs.name, { hint: '1-100 characters.' }),
    role: field('Role (required)', inputs.role, { hint: 'The system prompt, 3-500 characters.' }),
    max_depth: field('Max depth', inputs.max_depth, { hint: 'Model rounds before giving up, 1-10.' }),
    spawn_shadow: field('Shadow review', inputs.spawn_shadow, { hint: 'A second model call checks the answer.' }),
    model: field('Model', inputs.model, { hint: 'Empty: the runner\'s default model; "echo" is the builtin one.' }),
    tools: field('Tools', inputs.tools, { hint: 'Tool names separated by commas; empty: every tool you may run.' }),
    base_url: field('Base URL', inputs.base_url, { hint: 'A browser agent\'s start page (http or https); empty: no browser.' }),
  };
  const box = h('div', { class: 'form-status' });
  const form = h('form', { class: 'stack', novalidate: true },
    h('h2', {}, 'Create an agent'), ...Object.values(fields), box,
    h('button', { type: 'submit', class: 'btn btn-primary' }, 'Create agent'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(fields);
    box.replaceChildren();
    const { body, errors } = readAgent(inputs);
    if (errors.length) {
      for (const [name, text] of errors) setFieldError(fields[name], text);
      fields[errors[0][0]].querySelector('input, textarea').focus();
      return;
    }
    const res = await api('POST', '/api/v1/agents', { body });
    if (!res.ok) {
      showError(res, (name) => fields[name] || null, box);
      return;
    }
    navigate('/ui/agents/' + encodeURIComponent(res.body.id));
  });
  return form;
}

// The create body from the form, and the problems the server would refuse ([field, text]).
function readAgent(inputs) {
  const errors = [];
  const body = {};
  const name = inputs.name.value;
  if (name.length < 1 || name.length > 100) errors.push(['name', 'A name of 1-100 characters is required.']);
  body.name = name;
  const role = inputs.role.value;
  if ([...role].length < 3 || [...role].length > 500) errors.push(['role', 'The role needs 3-500 characters.']);
  body.role = role;
  const depth = inputs.max_depth.value.trim();
  if (depth !== '') {
    if (!/^\d+$/.test(depth) || Number(depth) < 1 || Number(depth) > 10) {
      errors.push(['max_depth', 'Max depth is a whole number from 1 to 10.']);
    } else {
      body.max_depth = Number(depth);
    }
  }
  body.spawn_shadow = inputs.spawn_shadow.checked;
  const model = inputs.model.value.trim();
  if (model) body.model = model;
  const tools = inputs.tools.value.split(',').map((s) => s.trim()).filter((s) => s);
  if (tools.length) body.tools = tools;
  const url = inputs.base_url.value.trim();
  if (url) body.base_url = url;
  return { body, errors };
}

// ---- one agent ----

async function renderAgent(root, id, navigate) {
  heading(root, 'Agent');
  const res = await api('GET', '/api/v1/agents/' + encodeURIComponent(id));
  if (!res.ok) {
    root.append(notice('error', res.status === 404 ? 'No such agent (it may have been deleted).' : errorText(res)),
      h('p', {}, h('a', { href: '/ui/agents' }, 'All agents')));
    return undefined;
  }
  let agent = res.body;
  const me = await whoami();
  heading(root, 'Agent', agent.name);
  const status = h('div', { class: 'form-status' });
  const info = h('div');
  const actions = h('div', { class: 'actions' });
  const history = historyList(agent.id, me && me.role === 'admin');

  function show() {
    info.replaceChildren(facts([
      ['Id', agent.id],
      ['Status', badge(agent.status)],
      ['Role', h('span', { class: 'prewrap' }, agent.role)],
      ['Model', agent.model || 'default'],
      ['Tools', agent.tools ? agent.tools.join(', ') || 'none' : 'every tool its owner may run'],
      ['Base URL', agent.base_url],
      ['Max depth', String(agent.max_depth)],
      ['Shadow review', agent.spawn_shadow ? 'yes' : 'no'],
      ['Created', time(agent.created_at)],
      ['Updated', time(agent.updated_at)],
    ]));
    const paused = agent.status === 'paused';
    actions.replaceChildren(
      button(paused ? 'Resume schedule' : 'Pause schedule', () => setPaused(!paused)),
      button('Delete agent', remove, { kind: 'danger' }));
  }

  // Pausing is the events dialect's (/v1/agents/{id}/pause|resume): it stops scheduled runs only.
  async function setPaused(pause) {
    const r = await api('POST', '/v1/agents/' + encodeURIComponent(agent.id) + (pause ? '/pause' : '/resume'));
    if (!r.ok) {
      status.replaceChildren(notice('error', errorText(r)));
      return;
    }
    const again = await api('GET', '/api/v1/agents/' + encodeURIComponent(agent.id));
    if (again.ok) agent = again.body;
    status.replaceChildren(notice('ok', pause ? 'Paused: scheduled runs stop; a run asked for here still runs.'
      : 'Resumed.'));
    show();
  }

  async function remove() {
    if (!(await confirmAction('Delete the agent "' + agent.name + '"? Its jobs stay readable.'))) return;
    const r = await api('DELETE', '/api/v1/agents/' + encodeURIComponent(agent.id));
    if (!r.ok) {
      status.replaceChildren(notice('error', errorText(r)));
      return;
    }
    navigate('/ui/agents');
  }

  show();
  root.append(info, actions, status, runForm(agent.id, history), h('h2', {}, 'History'), history.el);
  await history.reload();
  return history.stop;
}

function runForm(agentId, history) {
  const prompt = h('textarea', { id: 'run-prompt', name: 'prompt', required: true, rows: 3 });
  const context = h('input', { id: 'run-context', name: 'context_id', autocomplete: 'off' });
  const fields = {
    prompt: field('Prompt (required)', prompt, { hint: '1-50000 characters.' }),
    context_id: field('Context id', context, { hint: 'Optional, at most 256 bytes.' }),
  };
  const box = h('div', { class: 'form-status' });
  const form = h('form', { class: 'stack', novalidate: true }, h('h2', {}, 'Run'),
    fields.prompt, fields.context_id, box, h('button', { type: 'submit', class: 'btn btn-primary' }, 'Run agent'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(fields);
    box.replaceChildren();
    const n = [...prompt.value].length;
    if (n < 1 || n > 50000) {
      setFieldError(fields.prompt, 'A prompt of 1-50000 characters is required.');
      prompt.focus();
      return;
    }
    const body = { prompt: prompt.value };
    if (context.value.trim()) body.context_id = context.value.trim();
    const res = await api('POST', '/api/v1/agents/' + encodeURIComponent(agentId) + '/execute', { body });
    if (!res.ok) {
      showError(res, (name) => fields[name] || null, box);
      return;
    }
    const done = notice('ok', 'Queued: job ');
    done.append(jobLink(res.body.job_id));
    box.replaceChildren(done);
    await history.reload();
  });
  return form;
}

// The agent's jobs, newest first, refreshed every 3 s while the page is open.
function historyList(agentId, admin) {
  const query = { agent_id: agentId, limit: 20, owner: admin ? '*' : undefined };
  const list = pagedTable(
    [
      { label: 'Job', cell: (j) => jobLink(j.job_id) },
      { label: 'Status', cell: (j) => statusBadge(j.status) },
      { label: 'Queued', cell: (j) => time(j.queued_at) },
      { label: 'Finished', cell: (j) => time(j.completed_at) },
      { label: 'Error', cell: (j) => (j.error ? j.error.code + ': ' + j.error.message : '—') },
    ],
    (cursor) => api('GET', '/api/v1/jobs', { query: Object.assign({}, query, { cursor }) }),
    (body) => body.jobs || [],
    'No runs yet.'
  );
  let last = '';
  const polling = poll('/api/v1/jobs', query, 3000, (res) => {
    const now = res.ok ? JSON.stringify(res.body.jobs) : '';
    if (res.ok && now !== last && !list.el.contains(document.activeElement)) list.reload();
    last = now;
  });
  return { el: list.el, reload: list.reload, stop: polling.stop };
}
