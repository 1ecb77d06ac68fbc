import { test, expect, Page } from '@playwright/test';
import AxeBuilder from '@axe-core/playwright';
import { logIn } from './session';

// axe-core (the rules of WCAG 2.1 A and AA) on every page: no violation. Each page is checked
// as served and hydrated, in the light theme and the dark one.

async function violations(page: Page) {
  const results = await new AxeBuilder({ page }).analyze();
  return results.violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    nodes: v.nodes.length,
    first: v.nodes[0]?.target.join(' '),
    summary: v.nodes[0]?.failureSummary,
  }));
}

async function ready(page: Page, path: string) {
  await page.goto(path);
  await expect(page.locator('[data-ready="true"]').first()).toBeVisible();
}

test('the login page has no accessibility violation', async ({ page }) => {
  await ready(page, '/login');
  expect(await violations(page)).toEqual([]);
});

test('every staff page has no accessibility violation, light or dark', async ({ page }, info) => {
  test.setTimeout(240_000);
  await logIn(page);
  const pages = ['/', '/operation/102', '/operation/102/edit', '/new', '/clients/1', '/services/1',
    '/tasks/1', '/modules/1', '/dashboard', '/dashboard?window=7d', '/journal',
    '/journal?object=runningoperation', '/alerts', '/alerts?failed=url', '/failures',
    '/failures?did=start&done=3&skipped=running.1', '/failures?failed=access'];
  const attempt = await (async () => {
    await ready(page, '/operation/102');
    const link = page.locator('a[href^="/attempt/"]').first();
    return await link.getAttribute('href');
  })();
  if (attempt) pages.push(attempt);
  const found = [];
  for (const theme of ['light', 'dark']) {
    await page.evaluate((t) => localStorage.setItem('billops-theme', t), theme);
    for (const path of pages) {
      await ready(page, path);
      for (const v of await violations(page)) found.push({ path, theme, ...v });
    }
  }
  expect(found).toEqual([]);
  await page.evaluate(() => localStorage.removeItem('billops-theme'));
  await ready(page, '/');
  await page.screenshot({ path: info.outputPath('list-1280.png') });
});

test('the list fits 1280 px, draws its icons, and its status counts filter it', async ({ page }, info) => {
  await page.setViewportSize({ width: 1280, height: 800 });
  await logIn(page);
  await ready(page, '/?size=100');
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow, 'no horizontal scrolling at 1280 px').toBeLessThanOrEqual(0);
  // The client filter's icon is drawn (no glyph a font may lack).
  await expect(page.locator('#operations button.only svg').first()).toBeVisible();

  const counts = page.locator('nav.status-counts button');
  await expect(counts).toHaveCount(4);
  const manual = counts.filter({ hasText: 'Needs attention' });
  const n = Number(await manual.locator('strong').innerText());
  expect(n).toBeGreaterThan(0);
  await manual.click();
  await expect(manual).toHaveAttribute('aria-pressed', 'true');
  await expect(page.locator('#operations tbody tr')).toHaveCount(Math.min(n, 100));
  for (const status of await page.locator('#operations tbody [data-status]').evaluateAll(
    (els) => els.map((e) => e.getAttribute('data-status')))) {
    expect(status).toBe('manual');
  }
  await page.screenshot({ path: info.outputPath('status-counts.png') });
  // Again: the status filter is lifted, the other fields of the filter stay.
  await manual.click();
  await expect(manual).toHaveAttribute('aria-pressed', 'false');
  await expect(page.locator('#operations tbody tr')).toHaveCount(100);
});
