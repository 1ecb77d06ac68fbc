import { test, expect, Page, Locator } from '@playwright/test';
import * as fs from 'fs';
import { ADMIN, logIn, PASSWORD, READONLY, READONLY_PASSWORD } from './session';

// Against `billops serve --workers 0` on fresh demo data (scripts/e2e): the list holds still
// unless a spec changes it. Each spec saves a screenshot.
async function openList(page: Page, query = '') {
  await page.goto('/' + query);
  await expect(page.locator('.page')).toHaveAttribute('data-ready', 'true');
  await expect(page.locator('#operations tbody tr').first()).toBeVisible();
}

async function ids(rows: Locator): Promise<number[]> {
  return (await rows.evaluateAll((trs) => trs.map((tr) => Number(tr.getAttribute('data-id')))));
}

/// The id of the first row on the page with `status`.
async function firstWithStatus(page: Page, status: string): Promise<number> {
  const row = page.locator('#operations tbody tr', { has: page.locator(`[data-status="${status}"]`) }).first();
  await expect(row).toBeVisible();
  return Number(await row.getAttribute('data-id'));
}

function select(page: Page, id: number) {
  return page.getByLabel(`Select operation #${id}`, { exact: true }).click();
}

test('sorting, page size and paging live in the URL and survive a reload', async ({ page }, info) => {
  await logIn(page);
  await openList(page);
  const rows = page.locator('#operations tbody tr');
  await page.locator('th[data-col="id"] a').click();
  await expect(page).toHaveURL(/sort=id&order=desc/);
  await expect(page.locator('th[data-col="id"]')).toHaveAttribute('aria-sort', 'descending');
  let seen = await ids(rows);
  expect(seen).toEqual([...seen].sort((a, b) => b - a));
  await page.locator('.sizes').getByRole('link', { name: '20', exact: true }).click();
  await expect(page).toHaveURL(/size=20/);
  await expect(rows).toHaveCount(20);
  const firstPage = await ids(rows);
  const lastOfFirst = firstPage[firstPage.length - 1];
  await page.getByRole('link', { name: /Next/ }).click();
  // Page 2 seeks past page 1's last row (its id, the sort key here) instead of skipping rows.
  await expect(page).toHaveURL(/page=2.*&seek=a\d+\./);
  await page.reload();
  await expect(rows).toHaveCount(20);
  seen = await ids(rows);
  expect(seen).toEqual([...seen].sort((a, b) => b - a));
  expect(seen[0]).toBeLessThan(lastOfFirst);
  await page.locator('th[data-col="client"] a').click();
  await expect(page).toHaveURL(/sort=client&order=asc/);
  const clients = await page.locator('#operations tbody tr td:nth-child(6)').allTextContents();
  expect(clients).toEqual([...clients].sort((a, b) => a.localeCompare(b)));
  await page.screenshot({ path: info.outputPath('sorted-by-client.png'), fullPage: true });
});

test('the list downloads as CSV: every row, in the order shown, headers in the session language', async ({ page }, info) => {
  await logIn(page);
  await openList(page, '?sort=trycount&order=desc&size=20');
  const total = Number((await page.locator('.pager .total').innerText()).replace(/\D/g, ''));
  const shown = await ids(page.locator('#operations tbody tr'));
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('link', { name: 'Export CSV' }).click(),
  ]);
  expect(download.suggestedFilename()).toMatch(/^operations-\d{8}-\d{6}\.csv$/);
  const text = fs.readFileSync(await download.path(), 'utf8');
  const lines = text.trimEnd().split('\r\n');
  expect(lines[0]).toBe('Id,Description,Service,Product type,Client,Created,Attempts,Processing module,Task,Status,Comment,Last error');
  expect(lines.length - 1).toBe(total);
  expect(lines.slice(1, 1 + shown.length).map((line) => Number(line.split(',')[0]))).toEqual(shown);
  fs.copyFileSync(await download.path(), info.outputPath('operations.csv'));
  await page.screenshot({ path: info.outputPath('export-links.png') });
});

test('a row shows its age and links to its service, client and task pages', async ({ page }, info) => {
  await logIn(page);
  await openList(page, '?size=100');
  // Demo operations were created minutes to days ago: every row reads "N unit ago".
  const ages = await page.locator('#operations tbody tr td.when .age').allInnerTexts();
  expect(ages.length).toBeGreaterThan(0);
  for (const age of ages) expect(age).toMatch(/^\d+ (s|min|h|d) ago$/);

  const row = page.locator('#operations tbody tr', { has: page.locator('td:nth-child(10) a') }).first();
  const id = await row.getAttribute('data-id');
  const service = row.locator('td:nth-child(4) a');
  const serviceText = (await service.innerText()).trim();
  const client = (await row.locator('td:nth-child(6) a').innerText()).trim();
  const task = (await row.locator('td:nth-child(10) a').innerText()).trim();

  await service.click();
  await expect(page).toHaveURL(/\/services\/\d+$/);
  await expect(page.locator('.dossier')).toHaveAttribute('data-ready', 'true');
  await expect(page.locator('.dossier h1')).toContainText(serviceText.replace(/^#\d+ /, ''));
  await expect(page.locator(`#dossier-operations tr[data-id="${id}"]`)).toBeVisible();
  await expect(page.locator('#dossier-operations .age').first()).toHaveText(/ ago$/);
  await page.screenshot({ path: info.outputPath('service-page.png'), fullPage: true });

  // The service's page links its client; the client's page lists the service and the operation.
  await page.locator('dl.facts a[href^="/clients/"]').click();
  await expect(page).toHaveURL(/\/clients\/\d+$/);
  await expect(page.locator('.dossier h1')).toContainText(client);
  await expect(page.locator(`dl.facts a`, { hasText: serviceText })).toBeVisible();
  await expect(page.locator(`#dossier-operations tr[data-id="${id}"]`)).toBeVisible();

  // The task: a direct load of its page (server-rendered), linking back to the operation.
  await page.goto(`/tasks/${task.replace('#', '')}`);
  await expect(page.locator('.dossier h1')).toHaveText(`Task ${task}`);
  await expect(page.locator(`dl.facts a[href="/operation/${id}"]`)).toHaveText(`#${id}`);
  await page.screenshot({ path: info.outputPath('task-page.png'), fullPage: true });

  await page.goto('/services/999999');
  await expect(page.locator('.dossier [role="alert"]')).toContainText('999999');
});

test('selected rows are started, stopped and given tasks with a result per row', async ({ page }, info) => {
  await logIn(page);
  await openList(page, '?size=100');
  const manual = await firstWithStatus(page, 'manual');
  const failed = await firstWithStatus(page, 'error');
  await select(page, manual);
  await select(page, failed);
  await expect(page.locator('.actions .selected')).toHaveAttribute('data-count', '2');
  await page.getByRole('button', { name: 'Create task', exact: true }).click();
  const results = page.locator('.results li');
  await expect(results).toHaveCount(2);
  // A manual demo operation already has its task: refused, said so on its row; the other gets one.
  await expect(page.locator(`.results li[data-id="${manual}"]`)).toHaveAttribute('data-ok', 'false');
  await expect(page.locator(`.results li[data-id="${manual}"]`)).toContainText('task');
  await expect(page.locator(`.results li[data-id="${failed}"]`)).toHaveAttribute('data-ok', 'true');
  await expect(page.locator(`tr[data-id="${manual}"]`)).toHaveAttribute('data-result', 'failed');
  await expect(page.locator(`tr[data-id="${failed}"] td:nth-child(10)`)).toContainText('#');
  await page.screenshot({ path: info.outputPath('taskcreate-results.png'), fullPage: true });

  await page.getByRole('button', { name: 'Stop', exact: true }).click();
  await expect(page.locator(`.results li[data-id="${failed}"]`)).toHaveAttribute('data-ok', 'true');
  await expect(page.locator(`tr[data-id="${failed}"] [data-status]`)).toHaveAttribute('data-status', 'manual');
  await page.getByRole('button', { name: 'Start', exact: true }).click();
  await expect(page.locator('.results li[data-ok="true"]')).toHaveCount(2);
  await page.screenshot({ path: info.outputPath('start-results.png'), fullPage: true });
});

test('delete asks first, naming the operations, then removes them from the list', async ({ page }, info) => {
  await logIn(page);
  await openList(page, '?size=100');
  const victim = await firstWithStatus(page, 'waiting');
  await select(page, victim);
  await page.getByRole('button', { name: 'Delete', exact: true }).click();
  const confirm = page.getByRole('alertdialog');
  await expect(confirm).toContainText(`Delete operations #${victim}?`);
  await page.screenshot({ path: info.outputPath('delete-confirmation.png') });
  await confirm.getByRole('button', { name: 'Cancel' }).click();
  await expect(page.locator(`tr[data-id="${victim}"]`)).toBeVisible();
  await page.getByRole('button', { name: 'Delete', exact: true }).click();
  await page.getByRole('alertdialog').getByRole('button', { name: 'Yes, delete' }).click();
  await expect(page.locator(`.results li[data-id="${victim}"]`)).toHaveAttribute('data-ok', 'true');
  await expect(page.locator(`tr[data-id="${victim}"]`)).toHaveCount(0);
});

test('the error history lists attempts and the log viewer highlights the error', async ({ page }, info) => {
  await logIn(page);
  await openList(page, '?size=100');
  // The manual demo operations ran out of tries: their history holds failed attempts.
  const manual = await ids(page.locator('#operations tbody tr', { has: page.locator('[data-status="manual"]') }));
  expect(manual.length).toBeGreaterThan(0);
  const failed = page.locator('#attempts tbody tr[data-outcome="error"]');
  let found = false;
  for (const id of manual.slice(-5).reverse()) {
    await page.goto(`/operation/${id}`);
    await expect(page.locator('.page')).toHaveAttribute('data-ready', 'true');
    await expect(page.locator('#attempts')).toBeVisible();
    if (await failed.count() > 0) { found = true; break; }
  }
  expect(found, 'no manual operation with a failed attempt').toBe(true);
  await expect(page.locator('#attempts td').first()).toBeVisible();
  await page.screenshot({ path: info.outputPath('error-history.png'), fullPage: true });
  await failed.first().getByRole('link', { name: 'Log' }).click();
  await expect(page).toHaveURL(/\/attempt\/\d+$/);
  await expect(page.locator('.page')).toHaveAttribute('data-ready', 'true');
  await expect(page.locator('#log .error-line').first()).toBeVisible();
  await expect(page.locator('#log')).toContainText('--command');
  await expect(page.locator('#log')).not.toContainText('demo-secret');
  // The copy button is an island: it works once hydrated.
  await expect(page.getByRole('button', { name: 'Copy' })).toHaveAttribute('data-ready', 'true');
  await page.getByRole('button', { name: 'Copy' }).click();
  await expect(page.getByRole('button', { name: 'Copied' })).toBeVisible();
  await page.screenshot({ path: info.outputPath('attempt-log.png'), fullPage: true });
  // Back to the history through the page's own link.
  await page.getByRole('link', { name: /Error history/ }).click();
  await expect(page).toHaveURL(/\/operation\/\d+$/);
});

test('an operation created through the API appears in the open list without a reload', async ({ page, request }, info) => {
  await logIn(page);
  await openList(page, '?sort=id&order=desc');
  await expect(page.locator('button.live')).toHaveAttribute('data-live', 'live');
  const before = await ids(page.locator('#operations tbody tr'));
  const auth = `authinfo=${encodeURIComponent(`${ADMIN}:${PASSWORD}`)}`;
  let created = 0;
  // A service whose operation finished has none pending: the first that accepts one.
  for (let item = 1; item <= 100 && !created; item++) {
    const res = await request.get(
      `/billmgr?func=runningoperation.edit&sok=ok&intname=prolong&item=${item}&manual=on&out=JSONdata&${auth}`);
    const body = await res.json();
    if (body.id) created = Number(body.id);
  }
  expect(created, 'no service took a new operation').toBeGreaterThan(0);
  expect(before).not.toContain(created);
  await expect(page.locator(`#operations tbody tr[data-id="${created}"]`)).toBeVisible({ timeout: 10_000 });
  await expect(page.locator('#operations tbody tr').first()).toHaveAttribute('data-id', String(created));
  await page.screenshot({ path: info.outputPath('live-update.png'), fullPage: true });
  // Paused: a second change does not reach the page until live updates are on again.
  await page.locator('button.live').click();
  await expect(page.locator('button.live')).toHaveAttribute('data-live', 'paused');
});

test('the filter narrows the list, is the one the API sees, and resets', async ({ page, request }, info) => {
  await logIn(page);
  await openList(page, '?size=100');
  const auth = `authinfo=${encodeURIComponent(`${ADMIN}:${PASSWORD}`)}`;
  await page.getByRole('button', { name: 'Filter', exact: true }).click();
  const panel = page.locator('#filter-panel');
  await expect(panel).toBeVisible();
  // A wrong value is named, and what was typed stays.
  await panel.getByLabel('Id', { exact: true }).fill('abc');
  await panel.getByRole('button', { name: 'Apply' }).click();
  await expect(panel.locator('.field-error')).toContainText("'id'");
  await expect(panel.getByLabel('Id', { exact: true })).toHaveValue('abc');
  await panel.getByLabel('Id', { exact: true }).fill('');
  await panel.locator('select[name="status"]').selectOption('manual');
  await page.screenshot({ path: info.outputPath('filter-panel.png'), fullPage: true });
  await panel.getByRole('button', { name: 'Apply' }).click();
  await expect(panel).toHaveCount(0);
  await expect(page.locator('.filter-active')).toContainText('Status: manual');
  const statuses = page.locator('#operations tbody tr [data-status]');
  await expect(statuses.first()).toHaveAttribute('data-status', 'manual');
  expect(new Set(await statuses.evaluateAll((els) => els.map((e) => e.getAttribute('data-status'))))).toEqual(new Set(['manual']));
  const saved = await (await request.get(`/billmgr?func=runningoperation.filter&out=JSONdata&${auth}`)).json();
  expect(saved.status).toEqual('manual');
  await page.screenshot({ path: info.outputPath('filter-active.png'), fullPage: true });

  await page.getByRole('button', { name: 'Reset' }).click();
  await expect(page.locator('.filter-active')).toHaveCount(0);
  // setfilter: one click narrows the list to a row's client.
  const first = page.locator('#operations tbody tr').first();
  const client = (await first.locator('td:nth-child(6)').innerText()).replace('⧩', '').trim();
  await first.getByRole('button', { name: `Only operations of ${client}` }).click();
  await expect(page.locator('.filter-active')).toContainText('Client:');
  const clients = await page.locator('#operations tbody tr td:nth-child(6)').allInnerTexts();
  expect(new Set(clients.map((c) => c.replace('⧩', '').trim()))).toEqual(new Set([client]));
  const apiFilter = await (await request.get(`/billmgr?func=runningoperation.filter&out=JSONdata&${auth}`)).json();
  expect(apiFilter.client).not.toEqual('');
  await page.getByRole('button', { name: 'Reset' }).click();
  await expect(page.locator('.filter-active')).toHaveCount(0);
});

test('log in as client opens the client area in a new tab, showing only that client, and comes back', async ({ page }, info) => {
  await logIn(page);
  await openList(page);
  const row = page.locator('#operations tbody tr').first();
  const id = await row.getAttribute('data-id');
  const client = (await row.locator('td:nth-child(6)').innerText()).replace('⧩', '').trim();
  const [tab] = await Promise.all([
    page.waitForEvent('popup'),
    row.getByRole('button', { name: `Log in as the client of operation #${id}` }).click(),
  ]);
  await tab.waitForURL(/\/client$/);
  await expect(tab.locator('.page')).toHaveAttribute('data-ready', 'true');
  // As rel="noopener": the new tab has no handle on the admin's tab.
  expect(await tab.evaluate(() => window.opener === null)).toBe(true);
  await expect(tab.locator('h1')).toContainText(client);
  const services = tab.locator('#client-services tbody tr');
  expect(await services.count()).toBeGreaterThan(0);
  const owners = await services.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-client')));
  expect(new Set(owners).size).toBe(1);
  await expect(tab.locator('#client-services')).toContainText(`#${id}`);
  await tab.screenshot({ path: info.outputPath('client-area.png'), fullPage: true });
  await expect(tab.getByRole('button', { name: /Back to the admin/ })).toHaveAttribute('data-ready', 'true');
  await tab.getByRole('button', { name: /Back to the admin/ }).click();
  await tab.waitForURL(/\/$/);
  await expect(tab.locator('#operations tbody tr').first()).toBeVisible();
  // The admin's own tab was never logged out.
  await page.reload();
  await expect(page.locator('#operations tbody tr').first()).toBeVisible();
});

test('go to panel opens the processing module panel in a new tab, or says there is none', async ({ page, context }, info) => {
  await context.route(/demo\.invalid/, (route) => route.fulfill({ status: 200, contentType: 'text/html', body: '<h1>panel</h1>' }));
  await logIn(page);
  await openList(page, '?size=100');
  const vm = page.locator('#operations tbody tr', { hasText: 'VMmanager Frankfurt' }).first();
  const vmId = await vm.getAttribute('data-id');
  const [tab] = await Promise.all([
    page.waitForEvent('popup'),
    vm.getByRole('button', { name: `Go to the module panel of operation #${vmId}` }).click(),
  ]);
  await tab.waitForURL('https://vm-fra.demo.invalid:1500/vmmgr');
  await expect(tab.locator('h1')).toHaveText('panel');
  await tab.close();
  const registrar = page.locator('#operations tbody tr', { hasText: 'Registrar RU-CENTER' }).first();
  const regId = await registrar.getAttribute('data-id');
  await registrar.getByRole('button', { name: `Go to the module panel of operation #${regId}` }).click();
  await expect(page.locator(`.results li[data-id="${regId}"]`)).toHaveAttribute('data-ok', 'false');
  await page.screenshot({ path: info.outputPath('no-panel.png') });
});

test('the edit form names a wrong field, keeps the input, then saves', async ({ page }, info) => {
  await logIn(page);
  await openList(page, '?size=100');
  const id = await firstWithStatus(page, 'waiting');
  await page.getByRole('link', { name: `Edit operation #${id}`, exact: true }).click();
  await expect(page).toHaveURL(new RegExp(`/operation/${id}/edit$`));
  await expect(page.locator('.page')).toHaveAttribute('data-ready', 'true');
  const tries = page.locator('input[name="trycount"]');
  await tries.fill('-1');
  await page.locator('textarea[name="comment"]').fill('checked by e2e');
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.locator('#edit-error-trycount')).toContainText("'trycount'");
  await expect(tries).toHaveAttribute('aria-invalid', 'true');
  await expect(tries).toHaveValue('-1');
  await expect(page.locator('textarea[name="comment"]')).toHaveValue('checked by e2e');
  await page.screenshot({ path: info.outputPath('edit-error.png'), fullPage: true });
  await tries.fill('3');
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page).toHaveURL(/\/$/);
  await page.goto('/?size=100');
  await expect(page.locator(`tr[data-id="${id}"] td:nth-child(8)`)).toHaveText('3');
  // A new operation without its required fields: both named.
  await page.getByRole('link', { name: 'New operation' }).click();
  await expect(page).toHaveURL(/\/new$/);
  await expect(page.locator('.page')).toHaveAttribute('data-ready', 'true');
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.locator('#edit-error-intname')).toBeVisible();
  await expect(page.locator('#edit-error-item')).toBeVisible();
  await page.screenshot({ path: info.outputPath('new-operation-errors.png'), fullPage: true });
});

test('keyboard shortcuts move, select, open the filter and show help', async ({ page }, info) => {
  await logIn(page);
  await openList(page);
  const rows = page.locator('#operations tbody tr');
  await page.keyboard.press('j');
  await expect(rows.nth(0)).toHaveClass(/cursor/);
  await page.keyboard.press('j');
  await expect(rows.nth(1)).toHaveClass(/cursor/);
  await page.keyboard.press('k');
  await expect(rows.nth(0)).toHaveClass(/cursor/);
  await page.keyboard.press('x');
  await expect(page.locator('.actions .selected')).toHaveAttribute('data-count', '1');
  await expect(rows.nth(0)).toHaveClass(/selected/);
  await page.keyboard.press('?');
  await expect(page.getByRole('dialog', { name: 'Keyboard shortcuts' })).toBeVisible();
  await page.screenshot({ path: info.outputPath('shortcuts-help.png') });
  await page.keyboard.press('Escape');
  await expect(page.getByRole('dialog', { name: 'Keyboard shortcuts' })).toHaveCount(0);
  await page.keyboard.press('/');
  await expect(page.locator('#filter-panel')).toBeVisible();
});

test('the language switch is remembered, and the theme can be chosen', async ({ page }, info) => {
  await logIn(page);
  await openList(page);
  await page.getByLabel('Language').selectOption('ru');
  await expect(page.locator('.topbar h1')).toHaveText('Текущие операции');
  await expect(page.locator('th[data-col="status"]')).toContainText('Статус');
  await page.reload();
  await expect(page.locator('.topbar h1')).toHaveText('Текущие операции');
  await page.screenshot({ path: info.outputPath('russian.png') });
  await page.getByLabel('Язык').selectOption('en');
  await expect(page.locator('.topbar h1')).toHaveText('Current operations');
  // The switch reloads the page: a click before the new page is hydrated would be lost.
  await expect(page.locator('.page')).toHaveAttribute('data-ready', 'true');

  const html = page.locator('html');
  await page.getByRole('button', { name: /Theme/ }).click();
  await expect(html).toHaveAttribute('data-theme', 'light');
  await page.getByRole('button', { name: /Theme/ }).click();
  await expect(html).toHaveAttribute('data-theme', 'dark');
  await page.reload();
  await expect(html).toHaveAttribute('data-theme', 'dark');
  await expect(page.locator('.page')).toHaveAttribute('data-ready', 'true');
  await page.screenshot({ path: info.outputPath('dark-theme.png') });
  await page.getByRole('button', { name: /Theme/ }).click();
  await expect(html).not.toHaveAttribute('data-theme', /./);
});

test('a read-only admin sees the list but no write actions', async ({ page }, info) => {
  await logIn(page, READONLY, READONLY_PASSWORD);
  await openList(page);
  await expect(page.locator('.who')).toContainText('readonly');
  await expect(page.locator('.actions')).toHaveCount(0);
  await expect(page.locator('#operations input[type="checkbox"]')).toHaveCount(0);
  await page.screenshot({ path: info.outputPath('readonly.png'), fullPage: true });
});
