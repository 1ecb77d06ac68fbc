import { expect, Page } from '@playwright/test';

// The accounts scripts/e2e creates on fresh demo data.
export const ADMIN = process.env.BILLOPS_ADMIN ?? 'admin';
export const PASSWORD = process.env.BILLOPS_ADMIN_PASSWORD ?? '';
export const READONLY = process.env.BILLOPS_READONLY ?? 'viewer';
export const READONLY_PASSWORD = process.env.BILLOPS_READONLY_PASSWORD ?? '';

/// Logs in through the form and lands on the list.
export async function logIn(page: Page, user = ADMIN, password = PASSWORD) {
  expect(password, 'the password must be set by scripts/e2e').not.toEqual('');
  await page.goto('/login');
  await expect(page.locator('main.login')).toHaveAttribute('data-ready', 'true');
  await page.getByLabel('User name').fill(user);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page).toHaveURL(/\/$/);
}
