// shortyd's web pages driven in a real browser (Debian's Chromium through
// playwright-core): sign-in, the create form, search, following a short
// link, the edit form and its history, and escaping of stored text.
//
// run.sh starts shortyd and sets the environment; run it, not this file:
//   SHORTY_URL     http://127.0.0.1:PORT of a fresh shortyd
//   SHORTY_TOKEN   a write token named SHORTY_TOKEN_NAME (default browser-test)
//   SHORTY_SOCKET  its control socket, for SHORTY_CLI (the shorty binary)
//   SHORTY_WORK    a directory for the screenshot
//   SHORTY_CHROMIUM  the browser (default /usr/bin/chromium)
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { chromium } from 'playwright-core';

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set; run tests/browser/run.sh`);
  return value;
}

const BASE = required('SHORTY_URL').replace(/\/+$/, '');
const TOKEN = required('SHORTY_TOKEN');
const SOCKET = required('SHORTY_SOCKET');
const CLI = required('SHORTY_CLI');
const WORK = required('SHORTY_WORK');
const ACTOR = process.env.SHORTY_TOKEN_NAME || 'browser-test';
const CHROMIUM = process.env.SHORTY_CHROMIUM || '/usr/bin/chromium';

const SLUG = 'e2e-docs';
const TITLE = 'Browser test docs';
const XSS_TITLE = '<script>alert(1)</script>';
const XSS_NOTE = '<img src=x onerror=alert(2)>';

// The shorty CLI over the control socket, with no SHORTY_* setting of ours
// (SHORTY_TOKEN, SHORTY_SOCKET) or of the machine's user leaking into it.
function cli(...args) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('SHORTY_')) env[k] = v;
  }
  env.XDG_CONFIG_HOME = path.join(WORK, 'xdg-config');
  return execFileSync(CLI, ['--socket', SOCKET, ...args], {
    env,
    encoding: 'utf8',
    timeout: 30_000,
  });
}

// Clicks a submit button and waits for the page that the form leads to,
// through any 303, to have loaded. Returns the response to the POST.
async function submit(page, button) {
  const posted = page.waitForResponse(
    (r) => r.request().method() === 'POST' && r.request().isNavigationRequest(),
  );
  const loaded = page.waitForEvent('load');
  await button.click();
  const response = await posted;
  await loaded;
  return response;
}

// The cells' texts of each row of the History table, newest first.
async function historyRows(page) {
  const rows = page.locator('h2:text-is("History") + table tbody tr');
  const out = [];
  for (const row of await rows.all()) {
    out.push((await row.locator('td').allInnerTexts()).map((t) => t.trim()));
  }
  return out;
}

async function listedSlugs(page) {
  const links = page.locator('main table tbody tr td:first-child > a');
  return (await links.allInnerTexts()).map((t) => t.trim());
}

describe('shortyd web pages in Chromium', () => {
  let server;  // the sites that short links point at
  let targetBase;
  const landed = [];  // request paths the target server saw
  let browser;
  let page;
  const dialogs = [];
  const pageErrors = [];

  before(async () => {
    server = http.createServer((req, res) => {
      if (req.url !== '/favicon.ico') landed.push(req.url);
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      res.end(`<!doctype html><title>Target</title><h1>Target site</h1>` +
              `<p id="path">${req.url.replace(/[<>&"]/g, '')}</p>`);
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    targetBase = `http://127.0.0.1:${server.address().port}`;

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
             '--no-first-run', '--disable-background-networking',
             '--disable-component-update', '--disable-sync'],
      timeout: 60_000,
    });
    const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
    context.setDefaultTimeout(15_000);
    context.setDefaultNavigationTimeout(20_000);
    page = await context.newPage();
    // A dialog would mean a stored script ran; dismiss it and fail below.
    page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss().catch(() => {}); });
    page.on('pageerror', (e) => pageErrors.push(String(e)));

    // Links made by another client, for the search and escaping checks.
    cli('add', `${targetBase}/unrelated`, '--slug', 'e2e-other',
        '--title', 'Unrelated page', '--tag', 'misc');
    cli('add', `${targetBase}/xss`, '--slug', 'e2e-xss',
        '--title', XSS_TITLE, '--note', XSS_NOTE, '--tag', 'misc');
  });

  after(async () => {
    await browser?.close();
    await new Promise((resolve) => (server ? server.close(resolve) : resolve()));
  });

  it('sends a visitor without a session to the sign-in page', async () => {
    const response = await page.goto(`${BASE}/-/`);
    assert.equal(page.url(), `${BASE}/-/signin`);
    assert.equal(response.status(), 200);
    assert.equal(response.request().redirectedFrom()?.url(), `${BASE}/-/`);
    assert.equal(await page.locator('h1').innerText(), 'Sign in');
    assert.equal(await page.locator('input[name="token"]').getAttribute('type'), 'password');
  });

  it('refuses a wrong token', async () => {
    await page.locator('input[name="token"]').fill('shorty_not-a-real-token');
    const response = await submit(page, page.getByRole('button', { name: 'Sign in' }));
    assert.equal(response.status(), 401);
    assert.match(await page.locator('p.error').innerText(), /not valid/);
    assert.equal(await page.getByRole('link', { name: 'New link' }).count(), 0);
  });

  it('signs in with the token', async () => {
    await page.locator('input[name="token"]').fill(TOKEN);
    const response = await submit(page, page.getByRole('button', { name: 'Sign in' }));
    assert.equal(response.status(), 303);
    assert.equal(page.url(), `${BASE}/-/`);
    assert.equal(await page.locator('header span').innerText(), ACTOR);
    const cookies = await page.context().cookies(`${BASE}/-/`);
    const session = cookies.find((c) => c.name === 'shorty_session');
    assert.ok(session, 'a session cookie was set');
    assert.equal(session.httpOnly, true);
    assert.equal(session.sameSite, 'Strict');
    assert.equal(session.path, '/-/');
  });

  it('creates a link through the form', async () => {
    await page.getByRole('link', { name: 'New link' }).click();
    await page.waitForURL(`${BASE}/-/new`);
    const form = page.locator('form[action="/-/new"]');
    await form.locator('input[name="target"]').fill(`${targetBase}/landing?from=shorty`);
    await form.locator('input[name="slug"]').fill(SLUG);
    await form.locator('input[name="title"]').fill(TITLE);
    await form.locator('input[name="tags"]').fill('e2e, docs');
    const response = await submit(page, form.getByRole('button', { name: 'Create' }));
    assert.equal(response.status(), 303);
    assert.equal(page.url(), `${BASE}/-/links/${SLUG}`);
    assert.equal(await page.locator('h1').innerText(), TITLE);
    assert.equal(await page.locator('dd.url').innerText(),
                 `${targetBase}/landing?from=shorty`);
    const shortLink = page.locator('dt:text-is("Short link") + dd a');
    assert.equal(await shortLink.getAttribute('href'), `${BASE}/${SLUG}`);
    assert.equal(await page.locator('.qr svg').count(), 1);
    const history = await historyRows(page);
    assert.equal(history.length, 1);
    assert.equal(history[0][1], ACTOR);
    assert.equal(history[0][2], 'create');
  });

  it('finds the link by search and by tag on the list page', async () => {
    await page.getByRole('link', { name: 'Links', exact: true }).click();
    await page.waitForURL(`${BASE}/-/`);
    assert.deepEqual((await listedSlugs(page)).sort(), [SLUG, 'e2e-other', 'e2e-xss'].sort());

    const search = page.locator('form.bar');
    await search.locator('input[name="q"]').fill('docs');
    const loaded = page.waitForEvent('load');
    await search.getByRole('button', { name: 'Find' }).click();
    await loaded;
    assert.equal(new URL(page.url()).searchParams.get('q'), 'docs');
    assert.deepEqual(await listedSlugs(page), [SLUG]);
    assert.equal(await search.locator('input[name="q"]').inputValue(), 'docs');

    const row = page.locator('main table tbody tr').first();
    assert.match(await row.innerText(), new RegExp(TITLE));
    await row.locator('a.tag', { hasText: 'e2e' }).click();
    await page.waitForURL(`${BASE}/-/?tag=e2e`);
    assert.deepEqual(await listedSlugs(page), [SLUG]);

    await page.goto(`${BASE}/-/?q=no-such-thing-anywhere`);
    assert.match(await page.locator('main').innerText(), /No links found/);

    await page.goto(`${BASE}/-/?q=docs`);
    await page.getByRole('link', { name: SLUG, exact: true }).click();
    await page.waitForURL(`${BASE}/-/links/${SLUG}`);
  });

  it('follows the short link to its target', async () => {
    const before = landed.length;
    const response = await page.goto(`${BASE}/${SLUG}`);
    assert.equal(page.url(), `${targetBase}/landing?from=shorty`);
    assert.equal(response.status(), 200);
    const hop = response.request().redirectedFrom();
    assert.equal(hop?.url(), `${BASE}/${SLUG}`);
    assert.equal((await hop.response()).status(), 302);
    assert.equal(await page.locator('h1').innerText(), 'Target site');
    assert.deepEqual(landed.slice(before), ['/landing?from=shorty']);
  });

  it('edits the target and title, and shows the edit in the history', async () => {
    await page.goto(`${BASE}/-/links/${SLUG}`);
    const form = page.locator(`form[action="/-/links/${SLUG}/edit"]`);
    assert.equal(await form.locator('input[name="title"]').inputValue(), TITLE);
    await form.locator('input[name="target"]').fill(`${targetBase}/moved`);
    await form.locator('input[name="title"]').fill(`${TITLE}, moved`);
    const response = await submit(page, form.getByRole('button', { name: 'Save' }));
    assert.equal(response.status(), 303);
    assert.equal(page.url(), `${BASE}/-/links/${SLUG}`);
    assert.equal(await page.locator('h1').innerText(), `${TITLE}, moved`);
    assert.equal(await page.locator('dd.url').innerText(), `${targetBase}/moved`);

    const history = await historyRows(page);
    assert.equal(history.length, 2, JSON.stringify(history));
    const [when, who, what, changes] = history[0];
    assert.match(when, /^\d{4}-\d\d-\d\d/);
    assert.equal(who, ACTOR);
    assert.equal(what, 'edit');
    assert.ok(changes.includes(`target: ${targetBase}/landing?from=shorty \u2192 ${targetBase}/moved`),
              changes);
    assert.ok(changes.includes(`title: ${TITLE} \u2192 ${TITLE}, moved`), changes);
    assert.equal(history[1][2], 'create');

    // Saving again with nothing changed is refused, and adds no history.
    const again = await submit(page, page.locator(`form[action="/-/links/${SLUG}/edit"] button`));
    assert.equal(again.status(), 422);
    assert.match(await page.locator('p.error').innerText(), /nothing was changed/);
    assert.equal((await historyRows(page)).length, 2);

    const screenshot = path.join(WORK, 'link-page.png');
    await page.goto(`${BASE}/-/links/${SLUG}`);
    await page.screenshot({ path: screenshot, fullPage: true });
    console.log(`screenshot: ${screenshot}`);

    const before = landed.length;
    await page.goto(`${BASE}/${SLUG}`);
    assert.equal(page.url(), `${targetBase}/moved`);
    assert.deepEqual(landed.slice(before), ['/moved']);
  });

  it('shows stored markup as text, never as elements', async () => {
    const response = await page.goto(`${BASE}/-/links/e2e-xss`);
    assert.equal(response.status(), 200);
    assert.match(response.headers()['content-security-policy'] ?? '', /default-src 'none'/);
    assert.equal(await page.locator('script').count(), 0);
    assert.equal(await page.locator('main img').count(), 0);
    assert.equal(await page.locator('h1').innerText(), XSS_TITLE);
    assert.ok(await page.getByText(XSS_TITLE, { exact: true }).first().isVisible());
    assert.ok(await page.getByText(XSS_NOTE, { exact: true }).first().isVisible());
    assert.equal(await page.title(), `${XSS_TITLE} \u2013 shorty`);
    assert.equal(await page.locator('input[name="title"]').inputValue(), XSS_TITLE);
    const html = await response.text();
    assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));

    await page.goto(`${BASE}/-/?tag=misc`);
    assert.equal(await page.locator('script').count(), 0);
    assert.ok(await page.locator('main small', { hasText: XSS_TITLE }).isVisible());

    assert.deepEqual(dialogs, [], 'no script of a stored value ran');
    assert.deepEqual(pageErrors, []);
  });
});
