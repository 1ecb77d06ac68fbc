import { test, expect, Page } from '@playwright/test';

// The server is started by scripts/e2e on a fresh SQLite database with demo data; the admin's
// password comes from `billops demo`.
const ADMIN = process.env.BILLOPS_ADMIN ?? 'admin';
const PASSWORD = process.env.BILLOPS_ADMIN_PASSWORD ?? '';

function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  return errors;
}

async function logIn(page: Page, password: string) {
  await page.goto('/login');
  await expect(page.locator('main.login')).toHaveAttribute('data-ready', 'true');
  await page.getByLabel('User name').fill(ADMIN);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
}

test('a wrong password is refused with a message', async ({ page }, info) => {
  const errors = watchErrors(page);
  await logIn(page, 'not-the-password');
  await expect(page.getByRole('alert')).toContainText('Wrong user name or password');
  await expect(page).toHaveURL(/\/login\?failed=auth$/);
  await page.screenshot({ path: info.outputPath('wrong-password.png') });
  expect(errors.filter((e) => !e.includes('status of 500'))).toEqual([]);
});

test('without JavaScript the login form still works: a refusal says why, then the list', async ({ browser }, info) => {
  expect(PASSWORD, 'BILLOPS_ADMIN_PASSWORD must be set').not.toEqual('');
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto('/login');
  await page.getByLabel('User name').fill(ADMIN);
  await page.getByLabel('Password').fill('not-the-password');
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page).toHaveURL(/\/login\?failed=auth$/);
  await expect(page.getByRole('alert')).toContainText('Wrong user name or password');
  await page.screenshot({ path: info.outputPath('no-js-refused.png') });
  await page.getByLabel('User name').fill(ADMIN);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page).toHaveURL(/\/$/);
  await expect(page.locator('#operations tbody tr')).toHaveCount(50);
  await page.getByRole('button', { name: 'Log out' }).click();
  await expect(page).toHaveURL(/\/login$/);
  await context.close();
});

test('an admin logs in, sees the hydrated list, pages through it and logs out', async ({ page }, info) => {
  expect(PASSWORD, 'BILLOPS_ADMIN_PASSWORD must be set').not.toEqual('');
  const errors = watchErrors(page);
  await logIn(page, PASSWORD);
  await expect(page).toHaveURL(/\/$/);
  const rows = page.locator('#operations tbody tr');
  await expect(rows).toHaveCount(50);
  await expect(page.locator('.page')).toHaveAttribute('data-ready', 'true');
  await expect(page.locator('#operations thead th[data-col]')).toHaveCount(10);
  await expect(page.locator('[data-status="manual"]').first()).toBeVisible();
  const firstId = await rows.first().getAttribute('data-id');
  await page.getByRole('link', { name: /Next/ }).click();
  await expect(page).toHaveURL(/page=2/);
  await expect(page.locator('.pager')).toContainText('2 / 2');
  await expect(rows.first()).not.toHaveAttribute('data-id', firstId ?? '');
  await page.screenshot({ path: info.outputPath('list-page-2.png'), fullPage: true });
  await page.getByRole('button', { name: 'Log out' }).click();
  await expect(page).toHaveURL(/\/login$/);
  await page.goto('/');
  await expect(page).toHaveURL(/\/login$/);
  expect(errors).toEqual([]);
});
