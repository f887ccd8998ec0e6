// router.js - history API routing under /ui/: a path names a view module, links stay real <a href>.
//
// A view module exports `async function render(root, {params, query, navigate})` (params: the path's
// :id or :name; query: the URL's query string as a plain object {name: value}) and may return a
// cleanup() that runs when the view is left (close streams, clear timers). Each view sets
// document.title to "<View> - vex" and has an <h1>, which gets the focus.

import { h, notice } from './dom.js';

const ROUTES = [
  ['/ui/', 'overview'],
  ['/ui/jobs', 'jobs'],
  ['/ui/jobs/:id', 'job'],
  ['/ui/agents', 'agents'],
  ['/ui/agents/:id', 'agents'],
  ['/ui/tools', 'tools'],
  ['/ui/tools/:name', 'tools'],
  ['/ui/webhooks', 'webhooks'],
  ['/ui/webhooks/:id', 'webhooks'],
  ['/ui/keys', 'keys'],
].map(([pattern, view]) => {
  const names = [];
  const re = new RegExp('^' + pattern.replace(/:([a-z]+)/g, (_, n) => {
    names.push(n);
    return '([^/]+)';
  }) + '$');
  return { re, names, view };
});

let root = null;
let cleanup = null;
let seq = 0;
let started = false;

// The view for "pathname", or null. A trailing slash is ignored (except the overview's own).
export function match(pathname) {
  let p = pathname;
  if (p === '/ui') p = '/ui/';
  if (p.length > 4 && p.endsWith('/')) p = p.replace(/\/+$/, '');
  for (const r of ROUTES) {
    const m = r.re.exec(p);
    if (!m) continue;
    const params = {};
    try {
      r.names.forEach((n, i) => { params[n] = decodeURIComponent(m[i + 1]); });
    } catch {
      return null;
    }
    return { view: r.view, params };
  }
  return null;
}

function leave() {
  const c = cleanup;
  cleanup = null;
  if (typeof c === 'function') {
    try {
      c();
    } catch (e) {
      console.error('view cleanup failed', e);
    }
  }
}

function markNav(pathname) {
  for (const a of document.querySelectorAll('header nav a')) {
    const href = a.getAttribute('href');
    const here = href === '/ui/' ? pathname === '/ui/' || pathname === '/ui' : pathname.startsWith(href);
    if (here) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

function notFound(container, pathname) {
  document.title = 'Not found - vex';
  container.append(h('h1', {}, 'Not found'),
    h('p', {}, 'The console has no page at ', h('code', {}, pathname), '.'),
    h('p', {}, h('a', { href: '/ui/' }, 'Go to the overview')));
}

// Shows the view of the current location.
async function show() {
  leave();
  const my = ++seq;
  const url = new URL(window.location.href);
  const container = h('div', { class: 'view' });
  root.replaceChildren(container);
  markNav(url.pathname);
  const m = match(url.pathname);
  const query = Object.fromEntries(url.searchParams.entries());
  let c = null;
  if (!m) {
    notFound(container, url.pathname);
  } else {
    try {
      const mod = await import('/ui/views/' + m.view + '.js');
      if (my !== seq) return;
      c = await mod.render(container, { params: m.params, query, navigate });
    } catch (e) {
      console.error(e);
      if (my === seq) {
        document.title = 'Error - vex';
        container.replaceChildren(h('h1', {}, 'This page failed'),
          notice('error', 'The view could not be shown: ' + (e && e.message ? e.message : String(e))));
      }
    }
  }
  if (my !== seq) {
    if (typeof c === 'function') c();
    return;
  }
  cleanup = c;
  const h1 = container.querySelector('h1');
  if (h1) {
    h1.setAttribute('tabindex', '-1');
    h1.focus({ preventScroll: true });
  }
}

// Goes to "path" (a /ui/ path, with a query if any) and shows its view; replace: no new history entry.
export function navigate(path, { replace = false } = {}) {
  const url = new URL(path, window.location.origin);
  if (url.origin !== window.location.origin) throw new Error('navigate: another origin');
  if (replace) window.history.replaceState(null, '', url.pathname + url.search + url.hash);
  else window.history.pushState(null, '', url.pathname + url.search + url.hash);
  window.scrollTo(0, 0);
  return root ? show() : Promise.resolve();
}

function onClick(ev) {
  if (!root || ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
  const a = ev.target instanceof Element ? ev.target.closest('a[href]') : null;
  if (!a || (a.target && a.target !== '_self') || a.hasAttribute('download')) return;
  const url = new URL(a.href, window.location.href);
  if (url.origin !== window.location.origin) return;
  if (url.pathname !== '/ui' && !url.pathname.startsWith('/ui/')) return;
  if (url.pathname === window.location.pathname && url.search === window.location.search && url.hash) return;
  ev.preventDefault();
  navigate(url.pathname + url.search);
}

// Starts routing into "viewRoot" (main#view) and shows the current location.
export function start(viewRoot) {
  root = viewRoot;
  if (!started) {
    started = true;
    document.addEventListener('click', onClick);
    window.addEventListener('popstate', () => { if (root) show(); });
  }
  return show();
}

// Stops routing (sign-out): leaves the current view.
export function stop() {
  seq++;
  leave();
  root = null;
}
