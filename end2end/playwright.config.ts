import { defineConfig } from '@playwright/test';

// Debian's Chromium, never a downloaded browser (this machine reaches only package registries).
export default defineConfig({
  testDir: './tests',
  timeout: 60_000,
  // The debug build's 4.8 MB wasm, compiled by a Chromium sharing 2 cores with the rest of the
  // suite, once took more than the default 5 s to hydrate a page: waits get 15 s.
  expect: { timeout: 15_000 },
  retries: 0,
  workers: 1,
  reporter: 'list',
  outputDir: 'test-results',
  // The specs that change many operations at once (a failure group's actions, then bulk jobs) run
  // after the others, so that those find the demo data as it was made.
  projects: [
    { name: 'pages', testIgnore: /(failures|jobs)\.spec\.ts/ },
    { name: 'actions on many', testMatch: /(failures|jobs)\.spec\.ts/, dependencies: ['pages'] },
  ],
  use: {
    baseURL: process.env.BASE_URL ?? 'http://127.0.0.1:1500',
    browserName: 'chromium',
    screenshot: 'on',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
             '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    },
  },
});
