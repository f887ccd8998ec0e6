// app.js - boots the console: no credential -> the sign-in view; else the router (docs/dashboard.md).
import { clearCredential, getCredential, whoami } from './lib/api.js';
import { start, stop } from './lib/router.js';
import { renderSignIn } from './views/signin.js';

const view = document.getElementById('view');
const signOutButton = document.getElementById('sign-out');
const who = document.getElementById('who');
const keysLink = document.getElementById('nav-keys');

function signedOutShell() {
  document.body.removeAttribute('data-signed-in');
  signOutButton.hidden = true;
  keysLink.hidden = true;
  who.textContent = '';
}

// The sign-in view; "message" (kind "error" or "info") says why it is shown.
function showSignIn(message, kind) {
  stop();
  signedOutShell();
  renderSignIn(view, { message, kind, onSignedIn: boot });
}

async function boot() {
  if (!getCredential()) {
    showSignIn();
    return;
  }
  document.body.setAttribute('data-signed-in', '');
  signOutButton.hidden = false;
  const routing = start(view);
  const me = await whoami();
  if (!getCredential()) return;
  keysLink.hidden = !(me && me.role === 'admin');
  who.textContent = me ? (me.sub ? me.sub : 'signed in') + (me.role === 'admin' ? ' (admin)' : '') : '';
  await routing;
}

signOutButton.addEventListener('click', () => {
  clearCredential();
  showSignIn('Signed out.', 'info');
});

// Any API call answered 401 (expired or revoked credential): back to sign-in with the server's words.
window.addEventListener('vex:unauthorized', (ev) => {
  showSignIn('Signed out: ' + ev.detail, 'error');
});

boot();
