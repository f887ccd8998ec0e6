// signin.js - the sign-in view: one field "API key or token", checked against the API, kept in sessionStorage.
import { api, errorText, setCredential } from '../lib/api.js';
import { button, field, h, notice, setFieldError } from '../lib/dom.js';

// Renders the form into "root"; onSignedIn() runs once a credential was accepted and stored.
export function renderSignIn(root, { message, kind = 'info', onSignedIn } = {}) {
  document.title = 'Sign in - vex';
  const input = h('input', {
    type: 'password', name: 'credential', autocomplete: 'off', spellcheck: 'false', required: true,
    id: 'credential',
  });
  const credField = field('API key or token', input,
    { hint: 'An API key (vex_…) or a JWT. It is kept in this tab only (sessionStorage) until you sign out.' });
  const status = h('div', { class: 'status', 'aria-live': 'polite' });
  const form = h('form', { class: 'signin', novalidate: true },
    credField, button('Sign in', null, { type: 'submit', kind: 'primary' }));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const value = input.value.trim();
    setFieldError(credField, '');
    status.replaceChildren();
    if (!value) {
      setFieldError(credField, 'Enter an API key or a token.');
      input.focus();
      return;
    }
    const submit = form.querySelector('button[type=submit]');
    submit.disabled = true;
    let r = null;
    try {
      r = await api('GET', '/api/v1/whoami', { credential: value });
    } catch {
      r = null;
    } finally {
      submit.disabled = false;
    }
    if (!r) {
      status.replaceChildren(notice('error', 'The server could not be reached.'));
      return;
    }
    if (!r.ok) {
      setFieldError(credField, errorText(r));
      input.focus();
      return;
    }
    setCredential(value);
    input.value = '';
    if (onSignedIn) onSignedIn();
  });
  const h1 = h('h1', { tabindex: -1 }, 'Sign in');
  root.replaceChildren(h('section', { class: 'view signin-view' },
    h1,
    message ? notice(kind, message) : null,
    h('p', {}, 'Sign in to vex with an API key or a token.'),
    form, status));
  input.focus();
}
