// keys.js - /ui/keys (admins): create an API key (shown once), list, revoke with confirmation.
import { h, time, notice, button, field, setFieldError, confirmAction } from '../lib/dom.js';
import { api, errorText, whoami } from '../lib/api.js';
import { heading, showError, clearErrors, pagedTable, copyButton } from './kit.js';

const ADMINS_ONLY = 'API keys are managed by admins only. Ask an admin for a key, or sign in with an admin credential.';

export async function render(root) {
  heading(root, 'API keys');
  const me = await whoami();
  if (!me || me.role !== 'admin') {
    root.append(notice('info', ADMINS_ONLY));
    return;
  }
  const status = h('div', { class: 'form-status' });
  const owner = h('input', { id: 'keys-filter-owner', name: 'owner', autocomplete: 'off' });
  const list = keyList(() => owner.value.trim(), status);
  const filter = h('form', { class: 'inline', role: 'search' },
    field('Owner', owner, { hint: 'Empty: every owner\'s keys.' }), h('button', { type: 'submit', class: 'btn' }, 'Filter'));
  filter.addEventListener('submit', (ev) => {
    ev.preventDefault();
    list.reload();
  });
  root.append(createForm(list), h('h2', {}, 'Keys'), filter, status, list.el);
  const res = await list.reload();
  if (res && res.status === 403) root.replaceChildren(root.firstChild, notice('info', ADMINS_ONLY));
}

function keyList(ownerFilter, status) {
  const list = pagedTable(
    [
      { label: 'Name', cell: (k) => k.name || '—' },
      { label: 'Key', cell: (k) => h('code', {}, 'vex_' + k.prefix + '...') },
      { label: 'Owner', cell: (k) => k.owner },
      { label: 'Role', cell: (k) => k.role },
      { label: 'Plan', cell: (k) => k.plan },
      { label: 'Created', cell: (k) => time(k.created_at) },
      { label: 'Last used', cell: (k) => time(k.last_used_at) },
      { label: 'Revoked', cell: (k) => (k.revoked_at ? time(k.revoked_at) : revokeButton(k)) },
    ],
    (cursor) => api('GET', '/api/v1/keys', { query: { limit: 50, cursor, owner: ownerFilter() || undefined } }),
    (body) => body.keys || [],
    'No keys.'
  );
  function revokeButton(k) {
    const b = button('Revoke', async () => {
      const what = (k.name ? '"' + k.name + '" ' : '') + 'vex_' + k.prefix + '... of ' + k.owner;
      if (!(await confirmAction('Revoke the key ' + what + '? Whatever uses it is refused from the next request on.'))) return;
      const res = await api('DELETE', '/api/v1/keys/' + encodeURIComponent(k.id));
      if (!res.ok) {
        status.replaceChildren(notice('error', errorText(res)));
        return;
      }
      status.replaceChildren(notice('ok', 'Revoked ' + what + '.'));
      await list.reload();
    }, { kind: 'danger' });
    b.setAttribute('aria-label', 'Revoke key vex_' + k.prefix + '... of ' + k.owner);
    return b;
  }
  return list;
}

function createForm(list) {
  const inputs = {
    owner: h('input', { id: 'key-owner', name: 'owner', required: true, autocomplete: 'off', maxlength: 128 }),
    role: h('select', { id: 'key-role', name: 'role' }, h('option', { value: 'user' }, 'user'), h('option', { value: 'admin' }, 'admin')),
    plan: h('select', { id: 'key-plan', name: 'plan' },
      ...['free', 'standard', 'pro', 'enterprise'].map((p) => h('option', { value: p }, p))),
    name: h('input', { id: 'key-name', name: 'name', autocomplete: 'off', maxlength: 100 }),
  };
  const fields = {
    owner: field('Owner (required)', inputs.owner, { hint: 'The subject that owns what the key creates.' }),
    role: field('Role', inputs.role, { hint: 'admin: every owner\'s data, keys and tokens.' }),
    plan: field('Plan', inputs.plan, { hint: 'Sets the owner\'s rates and caps.' }),
    name: field('Name', inputs.name, { hint: 'Optional, to tell keys apart (1-100 characters).' }),
  };
  const box = h('div', { class: 'form-status' });
  const shown = h('div', { class: 'once' });
  const form = h('form', { class: 'stack', novalidate: true }, h('h2', {}, 'Create a key'),
    ...Object.values(fields), box, h('button', { type: 'submit', class: 'btn btn-primary' }, 'Create key'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(fields);
    box.replaceChildren();
    shown.replaceChildren();
    const owner = inputs.owner.value.trim();
    if (!owner) {
      setFieldError(fields.owner, 'The owner is required.');
      inputs.owner.focus();
      return;
    }
    const body = { owner, role: inputs.role.value, plan: inputs.plan.value };
    if (inputs.name.value.trim()) body.name = inputs.name.value.trim();
    const res = await api('POST', '/api/v1/keys', { body });
    if (!res.ok) {
      showError(res, (name) => fields[name] || null, box);
      return;
    }
    form.reset();
    shown.replaceChildren(...keyOnce(res.body, () => shown.replaceChildren()));
    shown.querySelector('input').focus();
    await list.reload();
  });
  return h('div', {}, shown, form);
}

// The new key: shown here once; vex keeps only its hash.
function keyOnce(k, done) {
  const input = h('input', { id: 'new-key', readonly: true, value: k.key, class: 'mono', autocomplete: 'off' });
  const warning = notice('info', 'Warning: copy this key now. It is shown only once and cannot be shown again (vex stores only its hash).');
  warning.classList.add('warning');
  return [
    warning,
    field('New key for ' + k.owner + ' (' + k.role + ', ' + k.plan + ')', input),
    h('div', { class: 'actions' }, copyButton(() => input.value, input), button('Done, I copied it', done)),
  ];
}
