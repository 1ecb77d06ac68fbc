import { test, expect, Page } from '@playwright/test';
import { logIn, READONLY, READONLY_PASSWORD } from './session';

// The demo data's failed operations are in failure groups, as the engine would have put them.

async function failuresPage(page: Page) {
  await page.goto('/failures');
  await expect(page.locator('.page.failures')).toHaveAttribute('data-ready', 'true');
}

const count = async (row: ReturnType<Page['locator']>, n: number) =>
  Number(await row.locator('td.count').nth(n).innerText());

test('the failures view groups failed operations, most first, and opens a group as the list', async ({ page }, info) => {
  await logIn(page);
  await page.getByRole('link', { name: 'Failures' }).click();
  await expect(page).toHaveURL(/\/failures$/);
  await expect(page.locator('.page.failures')).toHaveAttribute('data-ready', 'true');
  const rows = page.locator('#failures tbody tr');
  expect(await rows.count()).toBeGreaterThan(1);
  const operations = await rows.evaluateAll((trs) =>
    trs.map((tr) => Number(tr.querySelectorAll('td.count')[0].textContent)));
  expect([...operations].sort((a, b) => b - a)).toEqual(operations);
  // Each row: a template, a sample, a module link, at most as many clients as operations, and
  // a sparkline whose label gives the failures of each hour.
  const first = rows.first();
  await expect(first.locator('code.template')).not.toBeEmpty();
  await expect(first.getByRole('link').first()).toHaveAttribute('href', /^\/modules\/\d+$/);
  expect(await count(first, 1)).toBeLessThanOrEqual(await count(first, 0));
  await expect(first.locator('svg.spark')).toHaveAttribute('aria-label', /Failures in 24 h: \d+/);
  await page.screenshot({ path: info.outputPath('failures.png'), fullPage: true });

  // Show operations: the list, narrowed to the group, with as many rows as the group counts.
  const key = await first.getAttribute('data-key');
  const n = await count(first, 0);
  await first.getByRole('button', { name: 'Show operations' }).click();
  await expect(page).toHaveURL(/\/$/);
  await expect(page.locator('.filterbar')).toContainText(`Failure group: ${key}`);
  await expect(page.locator('table.operations tbody tr')).toHaveCount(Math.min(n, 50));
  await page.screenshot({ path: info.outputPath('failure-group-list.png'), fullPage: true });
  await page.locator('.filterbar').getByRole('button', { name: /Reset/ }).click();
  await expect(page.locator('.filterbar')).not.toContainText('Failure group');
});

test('an admin acts on a whole group and reads what was done; read-only users only look', async ({ page }, info) => {
  await logIn(page);
  await failuresPage(page);
  // The smallest group, so the other specs' rows keep their state.
  const last = page.locator('#failures tbody tr').last();
  const key = await last.getAttribute('data-key');
  const n = await count(last, 0);
  const group = page.locator(`#failures tbody tr[data-key="${key}"]`);

  await group.getByRole('button', { name: 'One task for the group' }).click();
  await expect(page.locator('#failure-summary')).toContainText(/Linked to the task: \d+ \(#\d+\)/);
  const task = (await page.locator('#failure-summary').innerText()).match(/#(\d+)/)![1];
  await expect(group.getByRole('link', { name: `Task #${task}` })).toHaveAttribute('href', `/tasks/${task}`);
  await page.screenshot({ path: info.outputPath('failure-task.png'), fullPage: true });

  await group.getByRole('button', { name: 'Stop all' }).click();
  await expect(page.locator('#failure-summary')).toHaveText(new RegExp(`^Stopped: ${n}`));
  await group.getByRole('button', { name: 'Start all' }).click();
  // Every one started, or named with why not (a switched-off module, for one).
  const summary = await page.locator('#failure-summary').innerText();
  const started = Number(summary.match(/^Started: (\d+)/)![1]);
  const left = [...summary.matchAll(/(\d+) (?:running|module switched off|no longer current|in another state)/g)]
    .reduce((sum, m) => sum + Number(m[1]), 0);
  expect(started + left).toBe(n);

  // The group's operations all link to the one task.
  await group.getByRole('button', { name: 'Show operations' }).click();
  await expect(page).toHaveURL(/\/$/);
  const rows = page.locator('table.operations tbody tr');
  await expect(rows).toHaveCount(Math.min(n, 50));
  await expect(rows.filter({ has: page.locator(`a[href="/tasks/${task}"]`) })).toHaveCount(Math.min(n, 50));
  await page.locator('.filterbar').getByRole('button', { name: /Reset/ }).click();

  // A read-only user sees the groups and opens them, with no action buttons.
  await page.context().clearCookies();
  await logIn(page, READONLY, READONLY_PASSWORD);
  await failuresPage(page);
  await expect(page.locator('#failures tbody tr').first().getByRole('button', { name: 'Show operations' })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Stop all' })).toHaveCount(0);
  // A forged action is refused and named.
  const refused = await page.request.post('/api/failure_action', { form: { key: key!, action: 'stop' } });
  expect(refused.status()).toBeLessThan(500);
  await failuresPage(page);
});
