import { test, expect } from '@playwright/test';
import AxeBuilder from '@axe-core/playwright';
import { logIn, READONLY, READONLY_PASSWORD } from './session';

// The demo data holds attempts over the last 40 days; the server's rollup keeper sampled the
// queue when it started. Charts are SVG drawn on the server, each with its figures beside it.

test('the dashboard charts attempts, the queue and success rates, and links each module', async ({ page }, info) => {
  await logIn(page);
  await page.getByRole('link', { name: 'Dashboard' }).click();
  await expect(page).toHaveURL(/\/dashboard$/);
  await expect(page.locator('.page.dashboard')).toHaveAttribute('data-ready', 'true');
  await expect(page.locator('nav.windows a[aria-current="page"]')).toHaveText('24 hours');

  await page.getByRole('link', { name: '7 days' }).click();
  await expect(page).toHaveURL(/window=7d$/);
  await expect(page.locator('nav.windows a[aria-current="page"]')).toHaveText('7 days');
  // Every hour with attempts is one bar in the drawing and one row in the figures.
  const attempts = page.locator('figure[data-chart="attempts"]');
  const bars = await attempts.locator('svg g').count();
  expect(bars).toBeGreaterThan(0);
  await expect(attempts.locator('table.figures tbody tr')).toHaveCount(bars);
  await expect(attempts.locator('svg')).toHaveAttribute('aria-label', 'Attempts per hour · 7 days');
  // The queue was sampled at least once: a dot or a line per status.
  const queue = page.locator('figure[data-chart="queue"]');
  expect(await queue.locator('svg circle, svg polyline').count()).toBeGreaterThanOrEqual(4);
  // One rate bar and one figures row per demo module.
  const rate = page.locator('figure[data-chart="rate"]');
  await rate.locator('summary').click();
  await expect(rate.locator('table.figures tbody tr')).toHaveCount(4);
  await expect(rate.locator('table.figures tbody')).toContainText('VMmanager Frankfurt (demo)');
  await page.screenshot({ path: info.outputPath('dashboard-7d.png'), fullPage: true });

  // A module's chart leads to its page, with its rates and its own chart.
  const first = page.locator('figure[data-chart^="module-"] figcaption a').first();
  const name = (await first.innerText()).replace(/^#\d+ /, '');
  await first.click();
  await expect(page).toHaveURL(/\/modules\/\d+$/);
  await expect(page.locator('.dossier')).toHaveAttribute('data-ready', 'true');
  await expect(page.locator('.dossier h1')).toContainText(name);
  await expect(page.locator('dl.facts')).toContainText('Success, 7 days');
  await expect(page.locator('.dossier figure.chart svg')).toBeVisible();
  await page.screenshot({ path: info.outputPath('module-page.png'), fullPage: true });
});

test('a read-only account sees the dashboard too', async ({ page }, info) => {
  await logIn(page, READONLY, READONLY_PASSWORD);
  await page.goto('/dashboard');
  await expect(page.locator('.page.dashboard')).toHaveAttribute('data-ready', 'true');
  await expect(page.locator('figure.chart')).not.toHaveCount(0);
  await page.screenshot({ path: info.outputPath('dashboard-24h.png'), fullPage: true });
});

test('a paused module shows a banner over the list until an admin resumes it', async ({ page }, info) => {
  await logIn(page);
  await page.goto('/modules/1');
  await expect(page.locator('.dossier')).toHaveAttribute('data-ready', 'true');
  await expect(page.locator('dl.facts')).toContainText('Running normally');
  await page.getByRole('button', { name: 'Pause' }).click();
  await expect(page).toHaveURL(/\/modules\/1$/);
  await expect(page.locator('dl.facts')).toContainText('Paused since');
  await expect(page.getByRole('button', { name: 'Resume' })).toBeVisible();

  await page.goto('/');
  await expect(page.locator('.page')).toHaveAttribute('data-ready', 'true');
  const banner = page.locator('.banner[data-module="1"]');
  await expect(banner).toHaveAttribute('data-circuit', 'paused');
  await expect(banner).toContainText('is paused: its operations wait');
  await expect(banner).toContainText('paused by admin');
  const axe = await new AxeBuilder({ page }).analyze();
  expect(axe.violations.map((v) => v.id), 'the banner keeps the list accessible').toEqual([]);
  await page.screenshot({ path: info.outputPath('paused-banner.png'), fullPage: false });

  await banner.getByRole('button', { name: 'Resume' }).click();
  await expect(page).toHaveURL(/\/$/);
  await expect(page.locator('.page')).toHaveAttribute('data-ready', 'true');
  await expect(page.locator('.banner')).toHaveCount(0);
});
