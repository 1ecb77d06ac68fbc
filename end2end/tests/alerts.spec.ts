import { test, expect } from '@playwright/test';
import { logIn } from './session';

test('an admin adds a webhook from the page, sees it cut to its host, and deletes it', async ({ page }, info) => {
  await logIn(page);
  await page.getByRole('link', { name: 'Alerts' }).click();
  await expect(page).toHaveURL(/\/alerts$/);
  await expect(page.locator('.page.alerts')).toHaveAttribute('data-ready', 'true');

  // A URL the server refuses (a valid URL to the browser) is named on the page.
  await page.getByLabel('URL').fill('ftp://hooks.example.com/x');
  await page.getByRole('button', { name: 'Add', exact: true }).click();
  await expect(page).toHaveURL(/failed=url/);
  await expect(page.locator('[role="alert"]')).toContainText('http:// or https://');

  await page.getByLabel('URL').fill('https://hooks.example.com/services/T000/B000/SECRETPATH');
  await page.getByLabel('Secret (HMAC signature)').fill('a-long-shared-secret');
  await page.getByLabel('circuit').check();
  await page.getByRole('button', { name: 'Add', exact: true }).click();
  await expect(page).toHaveURL(/\/alerts$/);
  const row = page.locator('#hooks tbody tr').first();
  await expect(row).toContainText('https://hooks.example.com/…');
  await expect(row).toContainText('circuit');
  await expect(row).toContainText('yes');
  expect(await page.content()).not.toContain('SECRETPATH');
  expect(await page.content()).not.toContain('a-long-shared-secret');
  await page.screenshot({ path: info.outputPath('alerts.png'), fullPage: true });

  const id = await row.getAttribute('data-id');
  await page.getByRole('button', { name: `Delete webhook #${id}` }).click();
  await expect(page).toHaveURL(/\/alerts$/);
  await expect(page.locator(`#hooks tbody tr[data-id="${id}"]`)).toHaveCount(0);
});
