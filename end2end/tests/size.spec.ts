import { Browser, expect, Page, test } from '@playwright/test';
import { signUp, uniqueEmail } from './helpers';

/**
 * What each page costs a browser with an empty cache: the compressed bytes of its scripts and
 * wasm (the budget: 250 KB for the first visit, 400 KB for any page) and of everything else, and the
 * time from navigation to hydrated. `make size` prints the table.
 */
const FIRST_PAGE_BUDGET = 250 * 1024;
const ANY_PAGE_BUDGET = 400 * 1024;

interface PageCost {
  page: string;
  code: number;
  other: number;
  hydratedMs: number;
}

/** Records when the islands are live (the marker island sets `data-hydrated`). */
const RECORD_HYDRATION = `
  window.__hydratedAt = null;
  new MutationObserver(() => {
    if (window.__hydratedAt === null && document.body && document.body.dataset.hydrated) {
      window.__hydratedAt = performance.now();
    }
  }).observe(document, { attributes: true, subtree: true, attributeFilter: ['data-hydrated'] });
`;

async function measure(page: Page, label: string): Promise<PageCost> {
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  const { entries, hydratedAt } = await page.evaluate(() => {
    const resources = performance.getEntriesByType('resource') as PerformanceResourceTiming[];
    const document = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
    return {
      // A file taken from the browser's cache transferred nothing (transferSize 0).
      entries: [document, ...resources].map((e) => ({
        name: e.name,
        bytes: e.transferSize === 0 ? 0 : e.encodedBodySize,
      })),
      hydratedAt: (window as unknown as { __hydratedAt: number }).__hydratedAt,
    };
  });
  // A preloaded file is listed once per use: count each address once.
  const sizes = new Map<string, number>();
  for (const { name, bytes } of entries) sizes.set(name, Math.max(bytes, sizes.get(name) ?? 0));
  let code = 0;
  let other = 0;
  for (const [name, bytes] of sizes) {
    if (/\.(js|wasm)$/.test(new URL(name).pathname)) code += bytes;
    else other += bytes;
  }
  return { page: label, code, other, hydratedMs: Math.round(hydratedAt) };
}

/** A fresh browser context: nothing cached, nothing remembered. */
async function coldPage(browser: Browser): Promise<Page> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.addInitScript(RECORD_HYDRATION);
  return page;
}

test('each page loads within its compressed size budget', async ({ browser, page }) => {
  await signUp(page, uniqueEmail('size'));
  await page.getByLabel('Application name').fill('Size budget');
  await page.getByRole('button', { name: 'Create application' }).click();
  await expect(page).toHaveURL(/\/apps\/fio[a-z0-9]{8}$/);
  const appPath = new URL(page.url()).pathname;
  const cookies = await page.context().cookies();

  const costs: PageCost[] = [];

  // The first page a new visitor sees, then the apps list with what the browser kept.
  const visitor = await coldPage(browser);
  await visitor.goto('/login');
  costs.push(await measure(visitor, 'sign-in (cold)'));
  await visitor.context().addCookies(cookies);
  await visitor.goto('/apps');
  costs.push(await measure(visitor, 'apps, after sign-in (warm)'));
  const firstVisit = costs[0].code + costs[1].code;
  await visitor.context().close();

  for (const [label, path] of [
    ['apps', '/apps'],
    ['webhooks', `${appPath}/webhooks`],
    ['deliveries', `${appPath}/deliveries`],
    ['events', `${appPath}/events`],
    ['account', '/account'],
  ]) {
    const cold = await coldPage(browser);
    await cold.context().addCookies(cookies);
    await cold.goto(path);
    costs.push(await measure(cold, `${label} (cold)`));
    await cold.context().close();
  }

  const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
  console.log('\npage                          JS+wasm (br)   other (compressed)   hydrated');
  for (const cost of costs) {
    console.log(
      `${cost.page.padEnd(30)}${kb(cost.code).padStart(12)}${kb(cost.other).padStart(21)}${`${cost.hydratedMs} ms`.padStart(11)}`,
    );
  }
  console.log(
    `first visit (sign-in, then apps): ${kb(firstVisit)} of ${kb(FIRST_PAGE_BUDGET)} ` +
      `(${((100 * firstVisit) / FIRST_PAGE_BUDGET).toFixed(0)}% of the budget)`,
  );

  expect(firstVisit, 'sign-in then apps list, JS + wasm compressed').toBeLessThanOrEqual(FIRST_PAGE_BUDGET);
  for (const cost of costs) {
    expect(cost.code, `${cost.page}: JS + wasm compressed`).toBeLessThanOrEqual(ANY_PAGE_BUDGET);
    // Something was measured: a page opened with an empty cache loads its code.
    if (cost.page.endsWith('(cold)')) expect(cost.code, `${cost.page}: JS + wasm loaded`).toBeGreaterThan(0);
  }
});
