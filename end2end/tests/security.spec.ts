import { test, expect, Page } from '@playwright/test';

// The protective side of the UI in a real browser: the page's content security policy lets the
// page's own scripts (and only those) run, and a pass-through login link from another site
// logs the browser in (WHMCS-style `session.newkey`, then `func=auth&key=`).
const ADMIN = process.env.BILLOPS_ADMIN ?? 'admin';
const PASSWORD = process.env.BILLOPS_ADMIN_PASSWORD ?? '';

function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  return errors;
}

test('the pages run under a nonce policy and hydrate without a violation', async ({ page }, info) => {
  expect(PASSWORD, 'BILLOPS_ADMIN_PASSWORD must be set').not.toEqual('');
  const errors = watchErrors(page);
  const login = await page.goto('/login');
  const policy = login?.headers()['content-security-policy'] ?? '';
  expect(policy).toMatch(/script-src 'self' 'nonce-[A-Za-z0-9_-]+' 'wasm-unsafe-eval'/);
  expect(policy).toContain("frame-ancestors 'none'");
  expect(login?.headers()['x-content-type-options']).toBe('nosniff');
  await expect(page.locator('main.login')).toHaveAttribute('data-ready', 'true');
  await page.getByLabel('User name').fill(ADMIN);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page).toHaveURL(/\/$/);
  await expect(page.locator('.page')).toHaveAttribute('data-ready', 'true');
  await expect(page.locator('#operations tbody tr').first()).toBeVisible();
  // An inline script without the nonce is refused by the browser.
  const ran = await page.evaluate(() => {
    const s = document.createElement('script');
    s.textContent = 'window.__injected = true;';
    document.body.appendChild(s);
    return (window as unknown as { __injected?: boolean }).__injected === true;
  });
  expect(ran).toBe(false);
  await page.screenshot({ path: info.outputPath('list-under-csp.png') });
  expect(errors.filter((e) => !e.includes('Content Security Policy'))).toEqual([]);
  expect(errors.filter((e) => e.includes('Content Security Policy')).length).toBe(1);
});

test('a pass-through link from another site logs the browser in', async ({ page, request, baseURL }, info) => {
  expect(PASSWORD, 'BILLOPS_ADMIN_PASSWORD must be set').not.toEqual('');
  const key = `e2e-pass-through-${Date.now()}`;
  const made = await request.get(
    `/billmgr?func=session.newkey&out=JSONdata&username=${encodeURIComponent(ADMIN)}` +
    `&key=${key}&authinfo=${encodeURIComponent(`${ADMIN}:${PASSWORD}`)}`);
  expect(await made.json()).toEqual({ ok: '' });
  // A page of no site of ours (about:blank) with the link a billing module would give.
  await page.setContent(
    `<a id="go" href="${baseURL}/billmgr?func=auth&username=${encodeURIComponent(ADMIN)}` +
    `&key=${key}&checkcookie=no">Open the panel</a>`);
  await page.click('#go');
  await expect(page).toHaveURL(new RegExp(`^${baseURL}/$`));
  await expect(page.locator('.page')).toHaveAttribute('data-ready', 'true');
  await expect(page.locator('#operations tbody tr').first()).toBeVisible();
  await page.screenshot({ path: info.outputPath('pass-through.png') });
  // The key worked once: the same link now ends at the login form.
  await page.context().clearCookies();
  await page.setContent(
    `<a id="go" href="${baseURL}/billmgr?func=auth&username=${encodeURIComponent(ADMIN)}&key=${key}">Again</a>`);
  await page.click('#go');
  await expect(page).toHaveURL(/\/login\?failed=auth$/);
});
