// core.mjs - browser checks of the console's shell, overview, jobs and job views (run by tests/integration/test_ui.py).
import {
  ADMIN_CREDENTIAL, apiCall, CREDENTIAL, DESKTOP, expectText, finish, fitsWidth, foreignRequests, launch, PHONE,
  run, SCREENSHOTS, shot, signIn, submitTool, TIMEOUT, waitJob,
} from './lib.mjs';

const SUB = process.env.VEX_SUB || '';
const XSS_SCRIPT = '<script>alert(1)</script>';
const XSS_IMG = '<img src=x onerror="window.__vexXss=1;alert(2)">';
const FAIL_MESSAGE = 'the disk /var/spool is full <img src=x onerror="window.__vexXss=2">';

const { page } = await launch();
const desk = await page(DESKTOP);
const dialogs = [];
desk.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss().catch(() => {}); });
const badge = (p) => p.locator('.job-head .badge');
let failedJob = null;

await run('sign-in-label', async () => {
  await desk.goto('/ui/');
  const input = desk.getByLabel('API key or token');
  await input.waitFor();
  return { tag: await input.evaluate((el) => el.tagName), focused: await input.evaluate((el) => el === document.activeElement) };
});

await run('sign-in-bad', async () => {
  await desk.getByLabel('API key or token').fill('vex_not-a-real-key-000000000000000000000000000');
  await desk.getByRole('button', { name: 'Sign in' }).click();
  const err = desk.locator('.field-error').first();
  await err.waitFor({ state: 'visible' });
  // The refused credential's 401 is the only console line expected: later checks start clean.
  const logged = desk.vexErrors.splice(0);
  return { shown: await err.textContent(), stored: await desk.evaluate(() => sessionStorage.getItem('vex.credential')), logged };
});

await run('sign-in', async () => {
  await signIn(desk, CREDENTIAL);
  await desk.getByRole('heading', { name: 'Overview' }).waitFor();
  return { stored: (await desk.evaluate(() => sessionStorage.getItem('vex.credential'))) === CREDENTIAL,
    url: new URL(desk.url()).pathname };
});

await run('keyboard-nav', async () => {
  // Each view puts the focus on its heading; from there the keyboard goes back to the navigation
  // (Shift+Tab) and follows a link with Enter.
  await desk.locator('main h1').waitFor();
  // The view moves the focus once it has drawn (after its first API answer): wait for that, and
  // report where the focus is if it never comes.
  const start = await desk.waitForFunction(() => (document.activeElement && document.activeElement.tagName === 'H1' ? 'H1' : null),
    null, { timeout: 5000 }).then((h) => h.jsonValue())
    .catch(() => desk.evaluate(() => document.activeElement && document.activeElement.tagName));
  for (let i = 1; i <= 12; i++) {
    await desk.keyboard.press('Shift+Tab');
    const at = await desk.evaluate(() => {
      const el = document.activeElement;
      return el && el.closest('header nav') ? el.textContent : null;
    });
    if (at === 'Jobs') {
      await desk.keyboard.press('Enter');
      await desk.getByRole('heading', { name: 'Jobs' }).waitFor();
      return { start, presses: i, path: new URL(desk.url()).pathname };
    }
  }
  throw new Error('Shift+Tab never reached the navigation');
});

await run('library-refuses-other-origins', async () => {
  return desk.evaluate(async () => {
    const api = await import('/ui/lib/api.js');
    const dom = await import('/ui/lib/dom.js');
    const refused = async (fn) => { try { await fn(); return false; } catch { return true; } };
    return {
      protocolRelative: await refused(() => api.api('GET', '//127.0.0.1:9/x')),
      backslash: await refused(() => api.api('GET', '/\\127.0.0.1:9/x')),
      absolute: await refused(() => api.api('GET', 'https://127.0.0.1:9/x')),
      javascriptHref: await refused(() => dom.h('a', { href: 'javascript:alert(1)' })),
      foreignHref: await refused(() => dom.h('a', { href: '//127.0.0.1:9/' })),
      inlineHandler: await refused(() => dom.h('img', { onerror: 'alert(1)' })),
      styleAttr: await refused(() => dom.h('div', { style: 'color:red' })),
      text: dom.h('p', {}, '<b>x</b>').textContent,
      children: dom.h('p', {}, '<b>x</b>').children.length,
      encoded: api.apiPath`/api/v1/jobs/${'../keys?x=1'}`,
    };
  });
});

await run('job-appears-and-completes-live', async () => {
  await desk.goto('/ui/jobs');
  await desk.getByRole('heading', { name: 'Jobs' }).waitFor();
  await desk.evaluate(() => { window.__vexNoReload = true; });
  // Long enough to be seen running on a loaded machine, short enough for the test's budget.
  const id = await submitTool('sleep', { ms: 12000, steps: 12 });
  const link = desk.getByRole('link', { name: id });
  await link.waitFor({ timeout: TIMEOUT }); // the first page refreshes every 5 s
  await link.click();
  await desk.getByRole('heading', { name: /^Job / }).waitFor();
  await desk.locator('#job-progress').waitFor();
  const seen = [await badge(desk).textContent()];
  const progress = await desk.locator('.progress').textContent();
  await expectText(desk, 'completed', { within: desk.locator('.job-head'), timeout: TIMEOUT + 12000 });
  seen.push(await badge(desk).textContent());
  const result = await desk.locator('pre.json').last().textContent();
  return { job_id: id, seen, progress, result, noReload: await desk.evaluate(() => window.__vexNoReload === true) };
});

await run('cancel-running', async () => {
  const id = await submitTool('sleep', { ms: 120000, steps: 2 });
  await waitJob(id, (j) => j.status === 'running');
  await desk.goto('/ui/jobs/' + id);
  await expectText(desk, 'running', { within: desk.locator('.job-head') });
  await desk.getByRole('button', { name: 'Cancel job' }).click();
  const dlg = desk.locator('dialog[open]');
  await dlg.waitFor();
  const asked = await dlg.textContent();
  await dlg.getByRole('button', { name: 'Cancel job' }).click();
  await expectText(desk, 'canceled', { within: desk.locator('.job-head'), timeout: 20000 });
  return { job_id: id, asked };
});

await run('overview-refreshes', async () => {
  await desk.goto('/ui/');
  await desk.locator('.cards').waitFor();
  const canceled = desk.locator('.cards li', { hasText: 'canceled' }).locator('.value');
  const was = Number(await canceled.textContent());
  await desk.evaluate(() => { window.__vexNoReload = 'overview'; });
  const id = await submitTool('sleep', { ms: 5000 });
  await apiCall('POST', '/api/v1/jobs/' + id + '/cancel'); // a canceled job: the canceled card grows
  const end = Date.now() + TIMEOUT;
  while (Number(await canceled.textContent()) <= was) {
    if (Date.now() > end) throw new Error('the overview never showed the canceled job');
    await new Promise((res) => setTimeout(res, 200));
  }
  return { was, now: Number(await canceled.textContent()), noReload: await desk.evaluate(() => window.__vexNoReload) };
});

await run('failed-job-shows-why', async () => {
  const id = await submitTool('fail', { code: 'DISK_FULL', message: FAIL_MESSAGE });
  await waitJob(id, (j) => j.status === 'failed');
  failedJob = id;
  await desk.goto('/ui/');
  await desk.getByRole('heading', { name: 'Latest failures' }).waitFor();
  await desk.getByRole('link', { name: id }).click();
  const box = desk.locator('.job-error');
  await box.waitFor();
  return { job_id: id, title: await box.locator('h2').textContent(), message: await box.locator('.message').textContent(),
    code: await box.locator('code').textContent() };
});

await run('result-markup-is-text', async () => {
  const id = await submitTool('echo', { script: XSS_SCRIPT, img: XSS_IMG });
  await waitJob(id, (j) => j.status === 'completed');
  await desk.goto('/ui/jobs/' + id);
  const pre = desk.locator('pre.json').last();
  await pre.waitFor();
  await expectText(desk, XSS_SCRIPT, { within: pre });
  const text = await pre.textContent();
  // the input section shows the arguments as sent (GET /api/v1/jobs/{id}/input), as text too
  const inPre = desk.locator('section[aria-labelledby="job-in"] pre.json');
  await inPre.waitFor();
  const input = JSON.parse(await inPre.textContent());
  const created = await desk.evaluate(() => ({
    scripts: document.querySelectorAll('main script').length,
    images: document.querySelectorAll('main img').length,
    xss: window.__vexXss || null,
  }));
  await desk.goto('/ui/jobs/' + failedJob);
  await desk.locator('.job-error').waitFor();
  const failedImages = await desk.evaluate(() => document.querySelectorAll('main img').length);
  return { job_id: id, text, input, created, failedImages, dialogs: dialogs.slice(), xss: await desk.evaluate(() => window.__vexXss || null) };
});

await run('job-deliveries', async () => {
  if (!process.env.VEX_HOOK) return { skipped: 'VEX_HOOK not set' };
  const id = await submitTool('echo', { hello: 'hook' });
  await waitJob(id, (j) => j.status === 'completed');
  const end = Date.now() + TIMEOUT;
  for (;;) { // the runner delivers after the job ends: wait until the API says so
    const r = await apiCall('GET', '/api/v1/jobs/' + id + '/deliveries');
    if (r.body && r.body.deliveries.some((d) => d.status === 'delivered')) break;
    if (Date.now() > end) throw new Error('no delivered delivery: ' + JSON.stringify(r.body));
    await new Promise((res) => setTimeout(res, 100));
  }
  await desk.goto('/ui/jobs/' + id);
  const section = desk.locator('section', { has: desk.getByRole('heading', { name: 'Webhook deliveries' }) });
  await expectText(desk, 'job.completed', { within: section });
  return { job_id: id, rows: await section.locator('tbody tr').allInnerTexts() };
});

await run('retry-from-page', async () => {
  await desk.goto('/ui/jobs/' + failedJob);
  await desk.getByRole('button', { name: 'Retry' }).click();
  await desk.waitForURL((u) => u.pathname.startsWith('/ui/jobs/') && !u.pathname.endsWith(failedJob));
  await desk.getByRole('heading', { name: /^Job / }).waitFor();
  await desk.getByText('Retry of').waitFor();
  return { old: failedJob, new: new URL(desk.url()).pathname.split('/').pop() };
});

await run('jobs-filter-is-a-deep-link', async () => {
  await desk.goto('/ui/jobs');
  await desk.getByLabel('Status').selectOption('failed');
  await desk.getByRole('button', { name: 'Apply' }).click();
  await desk.waitForURL((u) => u.searchParams.get('status') === 'failed');
  await desk.locator('.list table').waitFor();
  const statuses = await desk.locator('.list tbody .badge').allTextContents();
  // A user is offered no admin action (the API would refuse it: 403).
  const adminOnly = { cancelByFilter: await desk.getByRole('button', { name: 'Cancel matching jobs…' }).count(),
    keysLink: await desk.locator('#nav-keys').isVisible() };
  return { url: desk.url(), statuses, adminOnly };
});

await run('jobs-cursor-paging', async () => {
  await desk.goto('/ui/jobs?limit=2');
  await desk.locator('.list table').waitFor();
  const first = await desk.locator('.list tbody a.mono').allTextContents();
  await desk.getByRole('link', { name: 'Next page' }).click();
  await desk.waitForURL((u) => !!u.searchParams.get('cursor'));
  await desk.getByRole('link', { name: 'First page' }).waitFor();
  const second = await desk.locator('.list tbody a.mono').allTextContents();
  const url = new URL(desk.url());
  await desk.goBack(); // the history holds the first page
  await desk.waitForURL((u) => !u.searchParams.get('cursor'));
  await desk.locator('.list table').waitFor();
  const api = await apiCall('GET', '/api/v1/jobs?limit=4');
  return { first, second, limit: url.searchParams.get('limit'), back: await desk.locator('.list tbody a.mono').allTextContents(),
    api: api.body.jobs.map((j) => j.job_id) };
});

await run('desktop-fits', async () => {
  const out = {};
  for (const p of ['/ui/', '/ui/jobs', '/ui/jobs/' + failedJob]) {
    await desk.goto(p);
    await desk.locator('main h1').waitFor();
    out[p] = await fitsWidth(desk);
  }
  return { fits: out };
});

if (SCREENSHOTS) {
  await run('screenshots', async () => {
    // Jobs a reader would recognise, of an owner of their own: a few that worked, and one that
    // failed with a plain reason.
    const cred = process.env.VEX_DOCS_CREDENTIAL || CREDENTIAL;
    for (const n of [1, 2, 3]) await waitJob(await submitTool('echo', { order: 1000 + n }, cred), (j) => j.status === 'completed', { credential: cred });
    const shown = await submitTool('fail', { code: 'UPSTREAM_TIMEOUT', message: 'the inventory service did not answer within 30 s' }, cred);
    await waitJob(shown, (j) => j.status === 'failed', { credential: cred });
    await desk.getByRole('button', { name: 'Sign out' }).click();
    await signIn(desk, cred);
    await desk.goto('/ui/');
    await desk.getByRole('heading', { name: 'Latest failures' }).waitFor();
    const files = [await shot(desk, 'overview', SCREENSHOTS)];
    await desk.goto('/ui/jobs');
    await desk.locator('.list table').waitFor();
    files.push(await shot(desk, 'jobs', SCREENSHOTS));
    await desk.goto('/ui/jobs/' + shown);
    await desk.locator('.job-error').waitFor();
    files.push(await shot(desk, 'job-failed', SCREENSHOTS));
    await desk.getByRole('button', { name: 'Sign out' }).click();
    await signIn(desk, CREDENTIAL); // the checks after this one go on as the test's user
    return { files };
  });
}

await run('sign-out', async () => {
  await desk.getByRole('button', { name: 'Sign out' }).click();
  await desk.getByLabel('API key or token').waitFor();
  return { stored: await desk.evaluate(() => sessionStorage.getItem('vex.credential')),
    navHidden: !(await desk.getByRole('navigation', { name: 'Main' }).isVisible()) };
});

const phone = await page(PHONE, { timezoneId: 'Asia/Tokyo' }); // times in the viewer's zone
await run('phone', async () => {
  await signIn(phone, CREDENTIAL, { path: '/ui/jobs/' + failedJob }); // a deep link survives sign-in
  await phone.locator('.job-error').waitFor();
  const t = phone.locator('dl.facts time').first();
  const out = { deepLink: new URL(phone.url()).pathname, fits: {},
    time: { text: await t.textContent(), title: await t.getAttribute('title'), datetime: await t.getAttribute('datetime') } };
  out.fits['/ui/jobs/' + failedJob] = await fitsWidth(phone);
  for (const name of ['Overview', 'Jobs']) {
    const link = phone.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true });
    await link.click();
    await phone.getByRole('heading', { name }).waitFor();
    await phone.locator('main h1').waitFor();
    out.fits[new URL(phone.url()).pathname] = await fitsWidth(phone);
  }
  return out;
});

let admin = null;
await run('admin-cancel-by-filter', async () => {
  if (!SUB) return { skipped: 'VEX_SUB not set' };
  const ids = [await submitTool('sleep', { ms: 120000 }), await submitTool('sleep', { ms: 120000 })];
  admin = await page(DESKTOP);
  await signIn(admin, ADMIN_CREDENTIAL, { path: '/ui/jobs?' + new URLSearchParams({ status: 'pending,running', tool: 'sleep', owner: SUB }) });
  await admin.getByRole('heading', { name: 'Jobs' }).waitFor();
  const keys = await admin.locator('#nav-keys').isVisible();
  await admin.getByRole('button', { name: 'Cancel matching jobs…' }).click();
  const dlg = admin.locator('dialog[open]');
  await dlg.waitFor();
  const asked = await dlg.textContent();
  await dlg.getByRole('button', { name: 'Cancel jobs' }).click();
  const done = await admin.locator('.notice-ok').textContent();
  return { ids, asked, done, keysLink: keys };
});

await run('revoked-key-signs-out', async () => {
  // A key made for this check, revoked while its console is open: the next call answers 401 and the
  // console drops the credential and says why.
  const made = await apiCall('POST', '/api/v1/keys', { body: { owner: SUB || 'ui-revoked', role: 'user', name: 'ui-revoke' },
    credential: ADMIN_CREDENTIAL });
  if (made.status !== 201) throw new Error('key create: ' + made.status + ' ' + JSON.stringify(made.body));
  const p = await page(DESKTOP);
  await signIn(p, made.body.key);
  await p.getByRole('heading', { name: 'Overview' }).waitFor();
  const del = await apiCall('DELETE', '/api/v1/keys/' + made.body.id, { credential: ADMIN_CREDENTIAL });
  // The next call answers 401: the view shown again now (as on Back), or the overview's next refresh.
  await p.evaluate(() => window.dispatchEvent(new PopStateEvent('popstate')));
  await p.getByLabel('API key or token').waitFor({ timeout: TIMEOUT });
  const shown = await p.locator('.notice').first().textContent();
  const stored = await p.evaluate(() => sessionStorage.getItem('vex.credential'));
  p.vexErrors.splice(0); // the 401s are expected here
  await p.close();
  return { revoked: del.status, shown, stored };
});

await run('same-origin-only', async () => {
  const all = [desk, phone, admin].filter(Boolean);
  return { foreign: all.flatMap((p) => foreignRequests(p)), errors: all.flatMap((p) => p.vexErrors) };
});

await finish();
