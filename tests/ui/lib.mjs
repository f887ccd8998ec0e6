// lib.mjs - the browser-test harness of the web console: Debian's chromium driven by playwright-core (pinned in .deps).
//
// A spec (tests/ui/*.mjs) is run by a pytest file with node and these environment variables:
//   VEX_URL (https://localhost:<port>), VEX_CA (the test's private CA), VEX_CREDENTIAL (a user's),
//   VEX_ADMIN_CREDENTIAL (an admin's), UI_OUT (where failure screenshots go),
//   UI_SCREENSHOTS (optional: a directory for the documentation's screenshots, docs/dashboard/).
// It prints one JSON line per check: {"check": name, "ok": true|false, ...details}; the pytest side
// asserts on them. A failed check saves a screenshot of every open page under UI_OUT.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(path.join(REPO, '.deps', 'node_modules', 'x.js'));
const { chromium } = require('playwright-core');

export const URL_BASE = process.env.VEX_URL;
export const CREDENTIAL = process.env.VEX_CREDENTIAL;
export const ADMIN_CREDENTIAL = process.env.VEX_ADMIN_CREDENTIAL;
export const OUT = process.env.UI_OUT || path.join(REPO, 'build', 'ui-failures');
export const SCREENSHOTS = process.env.UI_SCREENSHOTS || '';
export const CHROMIUM = process.env.VEX_CHROMIUM || '/usr/bin/chromium';
export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };
export const TIMEOUT = Number(process.env.UI_TIMEOUT_MS || 15000);

const pages = new Set();
let failures = 0;
let browser = null;

// One JSON line on stdout.
export function report(check, ok, details = {}) {
  process.stdout.write(JSON.stringify(Object.assign({ check, ok }, details)) + '\n');
}

// The browser (one per spec file) and a page factory: page(viewport, options) opens a fresh context (its own
// sessionStorage) at that size. The certificate is the test's private CA: chromium is told to
// ignore HTTPS errors (ignoreHTTPSErrors) for that reason only; nothing else is loaded.
export async function launch() {
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Everything runs as root on the test machines: chromium's sandbox needs an unprivileged user.
    chromiumSandbox: false,
    args: ['--no-first-run', '--disable-background-networking', '--disable-component-update'],
  });
  // "options": more of newContext's (timezoneId, colorScheme, locale...).
  async function page(viewport = DESKTOP, options = {}) {
    const context = await browser.newContext(Object.assign({ viewport, ignoreHTTPSErrors: true, baseURL: URL_BASE }, options));
    context.setDefaultTimeout(TIMEOUT);
    const p = await context.newPage();
    p.vexErrors = [];
    p.vexRequests = [];
    p.on('pageerror', (e) => p.vexErrors.push('pageerror: ' + e.message));
    p.on('console', (m) => { if (m.type() === 'error') p.vexErrors.push('console: ' + m.text()); });
    p.on('request', (r) => p.vexRequests.push(r.url()));
    p.on('close', () => pages.delete(p));
    pages.add(p);
    return p;
  }
  return { browser, page };
}

// Signs in through the form; resolves when the navigation is shown.
export async function signIn(page, credential, { path: where = '/ui/' } = {}) {
  await page.goto(where);
  await page.getByLabel('API key or token').fill(credential);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('navigation', { name: 'Main' }).waitFor({ state: 'visible' });
}

// A screenshot into UI_OUT (or into "dir"); returns its path.
export async function shot(page, name, dir = OUT) {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, name.replace(/[^A-Za-z0-9._-]+/g, '-') + '.png');
  await page.screenshot({ path: file, fullPage: false });
  return file;
}

// Waits until "text" (a string or RegExp) is visible in the page (or inside "within", a locator).
export async function expectText(page, text, { within, timeout = TIMEOUT } = {}) {
  const scope = within || page;
  await scope.getByText(text).first().waitFor({ state: 'visible', timeout });
}

// Runs one check: prints {"check": name, "ok": true, ...what fn returned} or, on failure, the
// error and screenshots of every open page (UI_OUT/<name>-<n>.png), and carries on.
export async function run(name, fn) {
  try {
    const details = await fn();
    report(name, true, details && typeof details === 'object' ? details : {});
  } catch (e) {
    failures++;
    const shots = [];
    let n = 0;
    for (const p of pages) {
      try {
        shots.push(await shot(p, name + '-' + (++n)));
      } catch {
        // a closed page has nothing to show
      }
    }
    report(name, false, { error: String(e && e.stack ? e.stack : e), screenshots: shots });
  }
}

// Closes the browser; the exit code says whether every check passed.
export async function finish() {
  if (reqCtx) await reqCtx.dispose();
  if (browser) await browser.close();
  process.exitCode = failures ? 1 : 0;
}

// A public API call from outside the page (the test's own client), with "credential".
export async function apiCall(method, p, { body, credential = CREDENTIAL } = {}) {
  const ctx = await requestContext();
  const r = await ctx.fetch(URL_BASE + p, {
    method,
    headers: Object.assign({ Authorization: 'Bearer ' + credential }, body !== undefined ? { 'Content-Type': 'application/json' } : {}),
    data: body !== undefined ? JSON.stringify(body) : undefined,
    failOnStatusCode: false,
  });
  let parsed = null;
  try {
    parsed = await r.json();
  } catch {
    parsed = null;
  }
  return { status: r.status(), body: parsed };
}

let reqCtx = null;
async function requestContext() {
  if (!reqCtx) {
    const { request } = require('playwright-core');
    reqCtx = await request.newContext({ ignoreHTTPSErrors: true });
  }
  return reqCtx;
}

// Submits a tool job through the API; resolves its id.
export async function submitTool(tool, args, credential = CREDENTIAL) {
  const r = await apiCall('POST', '/api/v1/tools/' + encodeURIComponent(tool) + '/execute',
    { body: { arguments: args }, credential });
  if (r.status !== 200 || !r.body || !r.body.job_id) throw new Error('submit ' + tool + ': ' + r.status + ' ' + JSON.stringify(r.body));
  return r.body.job_id;
}

// Polls the API until job "id" satisfies pred(job); resolves the job.
export async function waitJob(id, pred, { credential = CREDENTIAL, timeout = TIMEOUT } = {}) {
  const end = Date.now() + timeout;
  for (;;) {
    const r = await apiCall('GET', '/api/v1/jobs/' + encodeURIComponent(id), { credential });
    if (r.status === 200 && pred(r.body)) return r.body;
    if (Date.now() > end) throw new Error('job ' + id + ' never matched; last ' + JSON.stringify(r.body));
    await new Promise((res) => setTimeout(res, 100));
  }
}

// The page overflows horizontally (a layout bug at that width) when this is false.
export async function fitsWidth(page) {
  return page.evaluate(() => document.scrollingElement.scrollWidth <= window.innerWidth);
}

// Requests the page made to any other origin than VEX_URL's (data: URLs aside).
export function foreignRequests(page) {
  const origin = new URL(URL_BASE).origin;
  return page.vexRequests.filter((u) => !u.startsWith('data:') && new URL(u).origin !== origin);
}
