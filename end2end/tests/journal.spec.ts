import { test, expect } from '@playwright/test';
import { logIn } from './session';

// The demo data was made through the service layer: every operation has its journal row.

test('the journal pages newest first, narrows by user and object, and leads to the timeline', async ({ page }, info) => {
  await logIn(page);
  await page.getByRole('link', { name: 'Journal' }).click();
  await expect(page).toHaveURL(/\/journal$/);
  await expect(page.locator('.page.journal')).toHaveAttribute('data-ready', 'true');
  const rows = page.locator('#journal tbody tr');
  await expect(rows).toHaveCount(50);
  const ids = async () => rows.evaluateAll((trs) => trs.map((tr) => Number(tr.getAttribute('data-id'))));
  const first = await ids();
  expect([...first].sort((a, b) => b - a)).toEqual(first);

  // Older: the next 50, all older than the first page.
  await page.getByRole('link', { name: 'Older →' }).click();
  await expect(page).toHaveURL(/before=\d+/);
  const second = await ids();
  expect(second.length).toBeGreaterThan(0);
  expect(Math.max(...second)).toBeLessThan(Math.min(...first));

  // Narrowed by user through the form: this admin's login is there.
  await page.goto('/journal');
  await page.getByLabel('User').fill('admin');
  await page.getByRole('button', { name: 'Show' }).click();
  await expect(page).toHaveURL(/user=admin/);
  await expect(page.getByLabel('User')).toHaveValue('admin');
  await expect(page.locator('#journal tbody tr').first()).toContainText('session.login');
  for (const who of await page.locator('#journal tbody td:nth-child(2)').allInnerTexts()) {
    expect(who).toBe('admin');
  }

  // And by kind of object (the demo's operations were made on the command line).
  await page.getByLabel('User').fill('');
  await page.getByLabel('Object').fill('runningoperation');
  await page.getByRole('button', { name: 'Show' }).click();
  await expect(page).toHaveURL(/object=runningoperation/);
  for (const object of await page.locator('#journal tbody td:nth-child(4)').allInnerTexts()) {
    expect(object).toMatch(/^runningoperation #\d+$/);
  }
  await page.screenshot({ path: info.outputPath('journal.png'), fullPage: true });

  // A row leads to its operation, whose timeline holds that row.
  const link = page.locator('#journal tbody td:nth-child(4) a').first();
  const action = await page.locator('#journal tbody tr').first().locator('td:nth-child(3)').innerText();
  await link.click();
  await expect(page).toHaveURL(/\/operation\/\d+$/);
  await expect(page.locator('#timeline')).toContainText(action);
  await page.screenshot({ path: info.outputPath('timeline.png'), fullPage: true });

  // A wrong date is named, in the page's language.
  await page.goto('/journal?from=yesterday');
  await expect(page.locator('[role="alert"]')).toContainText('from');
});
