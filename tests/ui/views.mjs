// views.mjs - browser checks of the agents, tools, webhooks and keys views (run by tests/integration/test_ui_views.py).
import {
  ADMIN_CREDENTIAL, apiCall, CREDENTIAL, DESKTOP, expectText, finish, fitsWidth, foreignRequests, launch, PHONE,
  run, SCREENSHOTS, shot, signIn, submitTool,
} from './lib.mjs';

const RECEIVER = process.env.UI_RECEIVER_URL;       // the test's webhook receiver (http://127.0.0.1:<port>/h/ui)
const TOOL = process.env.UI_FORM_TOOL || 'uiform';   // a command tool whose input schema has every kind of field
const XSS_AGENT = '<img src=x onerror="window.__vexXss=3">agent <script>window.__vexXss=4</script>';
const XSS_HOOK = '<script>window.__vexXss=5</script><img src=x onerror="window.__vexXss=6"> hook';
const XSS_KEY = '<b onmouseover="window.__vexXss=7">ci</b>';

const { page } = await launch();
const desk = await page(DESKTOP);
const dialogs = [];
desk.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss().catch(() => {}); });
const missing = []; // every 404 a page met (a poll of something just deleted would be one)
const watch404 = (p) => p.on('response', (r) => { if (r.status() === 404) missing.push(r.request().method() + ' ' + r.url()); });
watch404(desk);
const posts = (p, part) => p.vexRequests.filter((u) => u.includes(part)).length;
const jobBadge = (p) => p.locator('.job-head .badge');
const fieldOf = (p, name) => p.locator('.field').filter({ has: p.locator('[name="' + name + '"]') });
const errorOf = (p, name) => fieldOf(p, name).locator('.field-error');
const markup = (p) => p.evaluate(() => ({
  scripts: document.querySelectorAll('main script').length,
  images: document.querySelectorAll('main img').length,
  xss: window.__vexXss === undefined ? null : window.__vexXss,
}));

await signIn(desk, CREDENTIAL);

await run('tools-catalog', async () => {
  await desk.goto('/ui/tools');
  const row = desk.locator('tr').filter({ has: desk.getByRole('link', { name: TOOL, exact: true }) });
  await row.waitFor();
  return { row: await row.textContent(), created: await markup(desk) };
});

await run('tools-form-generated', async () => {
  await desk.getByRole('link', { name: TOOL, exact: true }).click();
  await desk.getByRole('heading', { name: TOOL, exact: true }).waitFor();
  const form = desk.locator('form.tool-form');
  await form.waitFor();
  // [name, kind] pairs, not an object: one name is "__proto__"
  const kinds = await form.evaluate((f) => [...f.querySelectorAll('[name]')].map((el) => [el.name,
    el.tagName.toLowerCase() + (el.type === 'checkbox' ? ':checkbox' : '') + (el.inputMode ? ':' + el.inputMode : '')]));
  const labels = await form.locator('label, legend').allTextContents();
  const hint = await fieldOf(desk, 'title').locator('.hint').textContent();
  const modes = await desk.locator('[name="mode"] option').allTextContents();
  const out = { kinds, labels, hint, modes, count: await desk.inputValue('[name="count"]'),
    fieldsets: await form.locator('fieldset').count(),
    describedBy: await desk.getAttribute('[name="title"]', 'aria-describedby') };
  if (SCREENSHOTS) {
    // the documentation's picture: a builtin tool with a plain description, in a tab of its own
    const docs = await page(DESKTOP);
    await signIn(docs, CREDENTIAL, { path: '/ui/tools/sleep' });
    await docs.locator('[name="ms"]').waitFor();
    await docs.fill('[name="ms"]', '1500');
    await shot(docs, 'tools-form', SCREENSHOTS);
    await docs.close();
  }
  return out;
});

await run('tools-client-error-at-field', async () => {
  const before = posts(desk, '/execute');
  await desk.fill('[name="count"]', 'abc');
  await desk.getByRole('button', { name: 'Run tool' }).click();
  await errorOf(desk, 'count').waitFor({ state: 'visible' });
  return {
    count: await errorOf(desk, 'count').textContent(),
    title: await errorOf(desk, 'title').textContent(),
    invalid: await desk.getAttribute('[name="count"]', 'aria-invalid'),
    focused: await desk.evaluate(() => document.activeElement && document.activeElement.name),
    sent: posts(desk, '/execute') - before,
  };
});

await run('tools-server-error-at-field', async () => {
  await desk.fill('[name="count"]', '3');
  await desk.fill('[name="title"]', 'NotLowerCase');
  await desk.fill('[name="opts.depth"]', '4');
  const answer = desk.waitForResponse((r) => r.url().includes('/execute') && r.request().method() === 'POST');
  await desk.getByRole('button', { name: 'Run tool' }).click();
  const status = (await answer).status();
  await errorOf(desk, 'title').filter({ hasText: 'pattern' }).waitFor();
  return { status, title: await errorOf(desk, 'title').textContent(), count: await errorOf(desk, 'count').isVisible(),
    path: new URL(desk.url()).pathname };
});

await run('tools-run-from-form', async () => {
  await desk.fill('[name="title"]', 'lower');
  await desk.selectOption('[name="mode"]', { label: 'slow' });
  await desk.selectOption('[name="loud"]', 'true');
  await desk.fill('[name="ratio"]', '0.5');
  await desk.getByRole('button', { name: 'Add item' }).click();
  await desk.fill('[name="tags[0]"]', 'a <b>');
  await desk.getByRole('button', { name: 'Add item' }).click();
  await desk.fill('[name="tags[1]"]', 'b');
  await desk.fill('[name="extra"]', '{"k": [1, 2]}');
  await desk.fill('[name="__proto__"]', 'own');
  await desk.getByRole('button', { name: 'Run tool' }).click();
  await desk.waitForURL(/\/ui\/jobs\/[0-9a-f-]{36}$/);
  const id = new URL(desk.url()).pathname.split('/').pop();
  await expectText(desk, 'completed', { within: desk.locator('.job-head') });
  return { job_id: id, status: await jobBadge(desk).textContent() };
});

await run('tools-form-phone', async () => {
  const phone = await page(PHONE);
  await signIn(phone, CREDENTIAL, { path: '/ui/tools/' + TOOL });
  await phone.locator('form.tool-form').waitFor();
  const fits = await fitsWidth(phone);
  await phone.fill('[name="title"]', 'phone');
  await phone.fill('[name="opts.depth"]', '1');
  const run = phone.getByRole('button', { name: 'Run tool' });
  await run.scrollIntoViewIfNeeded();
  const box = await run.boundingBox();
  await run.click();
  await phone.waitForURL(/\/ui\/jobs\//);
  await expectText(phone, 'completed', { within: phone.locator('.job-head') });
  const out = { fits, button: box, fitsJob: await fitsWidth(phone), job_id: new URL(phone.url()).pathname.split('/').pop() };
  await phone.close();
  return out;
});

let agentJob = null;
await run('agent-create-errors-at-fields', async () => {
  await desk.goto('/ui/agents');
  await desk.getByRole('heading', { name: 'Agents' }).waitFor();
  await desk.getByLabel('Name (required)').fill(XSS_AGENT);
  await desk.getByLabel('Role (required)').fill('ab');
  await desk.getByRole('button', { name: 'Create agent' }).click();
  const client = await errorOf(desk, 'role').textContent();
  await desk.getByLabel('Role (required)').fill('You repeat what you are told.');
  await desk.getByLabel('Base URL').fill('http://127.0.0.1/start');
  const answer = desk.waitForResponse((r) => r.url().endsWith('/api/v1/agents') && r.request().method() === 'POST');
  await desk.getByRole('button', { name: 'Create agent' }).click();
  const status = (await answer).status();
  await errorOf(desk, 'base_url').filter({ hasText: /./ }).waitFor();
  return { client, status, server: await errorOf(desk, 'base_url').textContent() };
});

await run('agent-create-and-run', async () => {
  await desk.getByLabel('Base URL').fill('');
  await desk.getByLabel('Model').fill('echo');
  await desk.getByRole('button', { name: 'Create agent' }).click();
  await desk.waitForURL(/\/ui\/agents\/[0-9a-f-]{36}$/);
  const agentId = new URL(desk.url()).pathname.split('/').pop();
  await desk.getByLabel('Prompt (required)').waitFor(); // the agent is loaded
  const h1 = await desk.locator('h1').textContent();
  await desk.getByLabel('Prompt (required)').fill('hello <i>there</i>');
  await desk.getByRole('button', { name: 'Run agent' }).click();
  const queued = desk.locator('.notice-ok').filter({ hasText: 'Queued: job' });
  await queued.waitFor();
  const link = queued.getByRole('link');
  const jobId = await link.textContent();
  await desk.locator('.paged').getByRole('link', { name: jobId }).waitFor(); // in the history
  await link.click();
  await desk.waitForURL('**/ui/jobs/' + jobId);
  await expectText(desk, 'completed', { within: desk.locator('.job-head') });
  agentJob = jobId;
  const stored = (await apiCall('GET', '/api/v1/agents/' + agentId)).body; // (a later check deletes it)
  return { agent_id: agentId, job_id: jobId, h1, stored, created: await markup(desk) };
});

await run('agent-pause-resume', async () => {
  await desk.goBack();
  await desk.getByRole('button', { name: 'Pause schedule' }).click();
  await desk.getByRole('button', { name: 'Resume schedule' }).waitFor();
  const paused = await desk.locator('dl.facts .badge').textContent();
  const agentId = new URL(desk.url()).pathname.split('/').pop();
  const api = await apiCall('GET', '/api/v1/agents/' + agentId);
  await desk.getByRole('button', { name: 'Resume schedule' }).click();
  await desk.getByRole('button', { name: 'Pause schedule' }).waitFor();
  const after = await desk.locator('dl.facts .badge').textContent();
  await desk.getByRole('button', { name: 'Delete agent' }).click();
  await desk.locator('dialog.confirm').getByRole('button', { name: 'Confirm' }).click();
  await desk.waitForURL(/\/ui\/agents$/);
  const gone = (await apiCall('GET', '/api/v1/agents/' + agentId)).status;
  const jobKept = (await apiCall('GET', '/api/v1/jobs/' + agentJob)).status;
  return { shown: paused, api: api.body.status, after, gone, jobKept };
});

let hookId = null;
await run('webhook-create', async () => {
  await desk.goto('/ui/webhooks');
  await desk.getByRole('heading', { name: 'Webhooks' }).waitFor();
  await desk.getByLabel('URL (required)').fill('ftp://example.com/');
  await desk.getByRole('button', { name: 'Create webhook' }).click();
  const client = await errorOf(desk, 'url').textContent();
  await desk.getByLabel('URL (required)').fill('http://127.1/hook'); // a numeric host form: refused by the server
  await desk.getByRole('button', { name: 'Create webhook' }).click();
  await errorOf(desk, 'url').filter({ hasText: 'url:' }).waitFor();
  const server = await errorOf(desk, 'url').textContent();
  await desk.getByLabel('URL (required)').fill(RECEIVER);
  for (const e of ['job.queued', 'job.started', 'job.failed', 'job.canceled', 'job.timeout']) await desk.getByLabel(e).uncheck();
  await desk.getByLabel('Description').fill(XSS_HOOK);
  await desk.getByRole('button', { name: 'Create webhook' }).click();
  const secret = await desk.locator('#hook-secret').inputValue();
  const row = desk.locator('tr').filter({ has: desk.getByRole('link', { name: RECEIVER }) }).first();
  await row.waitFor();
  const rowText = await row.textContent();
  await desk.getByRole('link', { name: 'Open the webhook' }).click();
  await desk.getByRole('heading', { name: 'Deliveries' }).waitFor();
  hookId = new URL(desk.url()).pathname.split('/').pop();
  const stored = (await apiCall('GET', '/api/v1/webhooks/' + hookId)).body; // (a later check deletes it)
  return { stored, client, server, secret, row: rowText, hook_id: hookId, h1: await desk.locator('h1').textContent(), created: await markup(desk) };
});

await run('webhook-delivery-and-resend', async () => {
  const jobId = await submitTool('echo', { hello: '<b>bold</b>' });
  const delivered = desk.locator('details.delivery').filter({ has: desk.locator('summary .badge-delivered') });
  const first = delivered.first();
  await first.waitFor({ timeout: 20000 }); // the log refreshes every 3 s
  await first.locator('summary').click();
  const body = await first.locator('pre.json').textContent();
  const firstId = await first.getAttribute('data-id');
  await first.getByRole('button', { name: /Re-send/ }).click();
  await desk.locator('.notice-ok').filter({ hasText: 'Re-sent as' }).waitFor();
  const copy = desk.locator('details.delivery:not([data-id="' + firstId + '"])')
    .filter({ has: desk.locator('summary .badge-delivered') }).first();
  await copy.waitFor({ timeout: 20000 });
  const copyId = await copy.getAttribute('data-id');
  const top = await desk.locator('details.delivery').first().getAttribute('data-id');
  await copy.locator('summary').click();
  const resendOf = await copy.locator('dd').filter({ hasText: firstId }).count();
  const attempts = await copy.locator('table tbody tr').count();
  if (SCREENSHOTS) await shot(desk, 'webhook-deliveries', SCREENSHOTS);
  return { job_id: jobId, first: firstId, copy: copyId, top, body, resend_of_shown: resendOf, attempts,
    count: await desk.locator('details.delivery').count() };
});

await run('views-fit-a-phone', async () => {
  const phone = await page(PHONE);
  await signIn(phone, CREDENTIAL, { path: '/ui/agents' });
  const fits = {};
  for (const [path, heading] of [['/ui/agents', 'Agents'], ['/ui/tools', 'Tools'], ['/ui/webhooks', 'Webhooks'],
    ['/ui/webhooks/' + hookId, 'Deliveries'], ['/ui/keys', 'API keys']]) {
    await phone.goto(path);
    await phone.getByRole('heading', { name: heading, exact: true }).waitFor();
    await phone.locator('main .table-wrap, main .deliveries, main .notice').first().waitFor();
    fits[path.replace(hookId, '<id>')] = await fitsWidth(phone);
  }
  await phone.close();
  return { fits };
});

await run('webhook-disable-enable-delete', async () => {
  await desk.goto('/ui/webhooks/' + hookId);
  await desk.getByRole('heading', { name: 'Deliveries' }).waitFor();
  await desk.getByRole('button', { name: 'Disable', exact: true }).click();
  await desk.getByRole('button', { name: 'Enable', exact: true }).waitFor();
  const disabled = { shown: await desk.locator('dl.facts .badge').first().textContent(),
    api: (await apiCall('GET', '/api/v1/webhooks/' + hookId)).body.status };
  await desk.locator('details.delivery').first().locator('summary').click();
  await desk.locator('details.delivery').first().getByRole('button', { name: /Re-send/ }).click();
  const refused = await desk.locator('.notice-error').first().textContent();
  await desk.getByRole('button', { name: 'Enable', exact: true }).click();
  await desk.getByRole('button', { name: 'Disable', exact: true }).waitFor();
  const enabled = (await apiCall('GET', '/api/v1/webhooks/' + hookId)).body.status;
  await desk.getByRole('button', { name: 'Delete webhook' }).click();
  await desk.locator('dialog.confirm').getByRole('button', { name: 'Confirm' }).click();
  await desk.waitForURL(/\/ui\/webhooks$/);
  return { disabled, refused, enabled, after: (await apiCall('GET', '/api/v1/webhooks/' + hookId)).status };
});

let keyShown = null;
const admin = await page(DESKTOP, { permissions: ['clipboard-read', 'clipboard-write'] });
watch404(admin);
await run('keys-create-shown-once', async () => {
  await signIn(admin, ADMIN_CREDENTIAL, { path: '/ui/keys' });
  await admin.getByRole('heading', { name: 'API keys' }).waitFor();
  await admin.getByLabel('Owner (required)').fill('ui-key-owner');
  await admin.getByLabel('Name').first().fill(XSS_KEY);
  await admin.getByRole('button', { name: 'Create key' }).click();
  const input = admin.locator('#new-key');
  await input.waitFor();
  keyShown = await input.inputValue();
  const warning = await admin.locator('.notice.warning').textContent();
  const works = await apiCall('GET', '/api/v1/agents', { credential: keyShown });
  await admin.locator('.once').getByRole('button', { name: 'Copy', exact: true }).click();
  await admin.locator('.once').getByRole('button', { name: 'Copied', exact: true }).waitFor();
  const copied = (await admin.evaluate(() => navigator.clipboard.readText())) === keyShown;
  await admin.getByRole('button', { name: 'Done, I copied it' }).click();
  const gone = !(await admin.evaluate((k) => document.body.textContent.includes(k) ||
    [...document.querySelectorAll('input')].some((i) => i.value === k), keyShown));
  await admin.reload();
  await admin.getByRole('heading', { name: 'API keys' }).waitFor();
  await admin.locator('tr').filter({ hasText: 'ui-key-owner' }).first().waitFor();
  const goneAfterReload = !(await admin.evaluate((k) => document.body.textContent.includes(k), keyShown));
  return { key: keyShown, warning, works: works.status, copied, gone, goneAfterReload, created: await markup(admin) };
});

await run('keys-revoke-with-confirmation', async () => {
  const prefix = keyShown.slice(4, 12);
  const revoke = admin.getByRole('button', { name: 'Revoke key vex_' + prefix + '... of ui-key-owner' });
  await revoke.click();
  const dialog = admin.locator('dialog.confirm');
  await dialog.waitFor();
  const asked = await dialog.textContent();
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  const still = await apiCall('GET', '/api/v1/agents', { credential: keyShown });
  await revoke.click();
  await admin.locator('dialog.confirm').getByRole('button', { name: 'Confirm' }).click();
  await admin.locator('.notice-ok').filter({ hasText: 'Revoked' }).waitFor();
  const after = await apiCall('GET', '/api/v1/agents', { credential: keyShown });
  const row = await admin.locator('tr').filter({ hasText: 'vex_' + prefix }).textContent();
  return { asked, still: still.status, after: after.status, row };
});

await run('tools-pause-admin', async () => {
  await admin.goto('/ui/tools/' + TOOL);
  await admin.getByRole('button', { name: 'Pause claiming' }).click();
  await admin.getByRole('button', { name: 'Resume claiming' }).waitFor();
  const api = (await apiCall('GET', '/api/v1/tools/' + TOOL)).body.paused;
  await admin.goto('/ui/tools');
  const row = admin.locator('tr').filter({ has: admin.getByRole('link', { name: TOOL, exact: true }) });
  await row.locator('.badge-paused').waitFor();
  const listed = await row.textContent();
  await admin.getByRole('link', { name: TOOL, exact: true }).click();
  await admin.getByRole('button', { name: 'Resume claiming' }).click();
  await admin.getByRole('button', { name: 'Pause claiming' }).waitFor();
  const userSees = await desk.goto('/ui/tools/' + TOOL).then(() => desk.locator('form.tool-form').waitFor())
    .then(() => desk.getByRole('button', { name: /claiming/ }).count());
  return { api, listed, after: (await apiCall('GET', '/api/v1/tools/' + TOOL)).body.paused === true, userSees };
});

await run('keys-non-admin', async () => {
  await desk.goto('/ui/keys');
  await desk.getByRole('heading', { name: 'API keys' }).waitFor();
  const shown = await desk.locator('main .notice').textContent();
  return { shown, navHidden: await desk.locator('#nav-keys').isHidden(), forms: await desk.locator('main form').count() };
});

await run('no-script-ran-no-foreign-request', async () => ({
  desk: await markup(desk), admin: await markup(admin), dialogs, missing,
  foreign: foreignRequests(desk).concat(foreignRequests(admin)),
  errors: desk.vexErrors.concat(admin.vexErrors).filter((e) => !/status of (400|401|409|422)/.test(e)),
}));

await finish();
