// tools.js - /ui/tools (the catalog) and /ui/tools/<name> (a form generated from the tool's input schema that runs it).
import { h, notice, button, table, field, setFieldError } from '../lib/dom.js';
import { api, errorText, whoami } from '../lib/api.js';
import { heading, facts, badge } from './kit.js';
import { schemaForm } from './schemaform.js';

export async function render(root, { params, navigate }) {
  if (params && params.name) return renderTool(root, params.name, navigate);
  return renderCatalog(root);
}

function toolHref(name) {
  return '/ui/tools/' + encodeURIComponent(name);
}

async function renderCatalog(root) {
  heading(root, 'Tools');
  const res = await api('GET', '/api/v1/tools');
  if (!res.ok) {
    root.append(notice('error', errorText(res)));
    return;
  }
  const tools = res.body.tools || [];
  root.append(
    h('p', {}, 'The tools you may run: pick one to fill in its arguments and run it.'),
    table(
      [
        { label: 'Name', cell: (t) => h('a', { href: toolHref(t.name) }, t.name) },
        { label: 'Description', cell: (t) => h('span', { class: 'clamp' }, t.description || '—') },
        { label: 'Kind', cell: (t) => (t.server ? t.source + ' (' + t.server + ')' : t.source) },
        { label: 'Claiming', cell: (t) => (t.paused ? badge('paused') : 'active') },
      ],
      tools,
      { empty: 'No tools.' }
    )
  );
}

async function renderTool(root, name, navigate) {
  heading(root, 'Tool', name);
  const res = await api('GET', '/api/v1/tools/' + encodeURIComponent(name));
  if (!res.ok) {
    root.append(notice('error', res.status === 404 ? 'No tool "' + name + '" that you may run.' : errorText(res)),
      h('p', {}, h('a', { href: '/ui/tools' }, 'All tools')));
    return;
  }
  let tool = res.body;
  heading(root, 'Tool', tool.name);
  const me = await whoami();
  const state = h('div');
  const status = h('div', { class: 'form-status' });

  function showState() {
    const parts = [facts([
      ['Kind', tool.server ? tool.source + ' (server ' + tool.server + ')' : tool.source],
      ['Claiming', tool.paused ? badge('paused') : 'active'],
    ])];
    if (tool.paused) parts.push(notice('info', 'Claiming is paused: a job queued now waits until an admin resumes this tool.'));
    if (me && me.role === 'admin') {
      parts.push(h('div', { class: 'actions' }, button(tool.paused ? 'Resume claiming' : 'Pause claiming', togglePause)));
    }
    state.replaceChildren(...parts);
  }
  async function togglePause() {
    const r = await api('POST', '/api/v1/tools/' + encodeURIComponent(tool.name) + (tool.paused ? '/resume' : '/pause'));
    if (!r.ok) {
      status.replaceChildren(notice('error', errorText(r)));
      return;
    }
    const again = await api('GET', '/api/v1/tools/' + encodeURIComponent(tool.name));
    if (again.ok) tool = again.body;
    status.replaceChildren();
    showState();
  }

  showState();
  root.append(h('p', { class: 'prewrap description' }, tool.description || 'No description.'), state, status,
    runForm(tool, navigate));
}

// The generated form, a timeout, and the run: client-side checks first, then the server's answer
// (an INVALID_ARGUMENTS "field" such as "arguments.opts.depth" goes to that argument's field).
function runForm(tool, navigate) {
  const form = schemaForm(tool.inputSchema || tool.input_schema || { type: 'object' }, 'arg');
  const timeout = h('input', { id: 'run-timeout', name: 'timeout_ms', inputmode: 'numeric', autocomplete: 'off' });
  const timeoutField = field('Timeout (ms)', timeout, { hint: 'Optional, 1-86400000; empty: the runner\'s default.' });
  const box = h('div', { class: 'form-status' });
  const el = h('form', { class: 'stack tool-form', novalidate: true },
    h('h2', {}, 'Run ' + tool.name), form.el, h('details', { class: 'options' }, h('summary', {}, 'Options'), timeoutField),
    box, h('button', { type: 'submit', class: 'btn btn-primary' }, 'Run tool'));
  const focusField = (path) => {
    const input = el.querySelector('[name="' + CSS.escape(path) + '"]');
    if (input) input.focus();
  };
  el.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    form.clear();
    setFieldError(timeoutField, '');
    box.replaceChildren();
    const { value, errors } = form.read();
    let timeoutMs;
    const t = timeout.value.trim();
    if (t !== '') {
      if (!/^\d+$/.test(t) || Number(t) < 1 || Number(t) > 86400000) {
        errors.push(['timeout_ms', 'A whole number of milliseconds from 1 to 86400000.']);
      } else {
        timeoutMs = Number(t);
      }
    }
    if (errors.length) {
      for (const [path, text] of errors) {
        if (path === 'timeout_ms') {
          timeoutField.closest('details').open = true;
          setFieldError(timeoutField, text);
        } else if (!form.setError(path, text)) {
          box.append(notice('error', (path ? path + ': ' : '') + text));
        }
      }
      box.prepend(notice('error', errors.length === 1 ? 'One value needs fixing.' : errors.length + ' values need fixing.'));
      focusField(errors[0][0]);
      return;
    }
    const body = { arguments: value };
    if (timeoutMs !== undefined) body.timeout_ms = timeoutMs;
    const submit = el.querySelector('button[type="submit"]');
    submit.disabled = true;
    let res;
    try {
      res = await api('POST', '/api/v1/tools/' + encodeURIComponent(tool.name) + '/execute', { body });
    } finally {
      submit.disabled = false;
    }
    if (res.ok) {
      navigate('/ui/jobs/' + encodeURIComponent(res.body.job_id));
      return;
    }
    const err = res.body && res.body.error && typeof res.body.error === 'object' ? res.body.error : {};
    const at = typeof err.field === 'string' ? err.field : '';
    let shown = false;
    if (at === 'timeout_ms') {
      timeoutField.closest('details').open = true;
      setFieldError(timeoutField, err.message || errorText(res));
      shown = true;
    } else if (at.startsWith('arguments.')) {
      shown = form.setError(at.slice('arguments.'.length), err.message || errorText(res));
      if (shown) focusField(at.slice('arguments.'.length));
    }
    box.replaceChildren(notice('error', shown ? 'The server refused a value: see the marked field.' : errorText(res)));
  });
  return el;
}
