import { expect, Page, test } from '@playwright/test';
import { OPERATOR_EMAIL, OPERATOR_PASSWORD } from '../playwright.config';
import { signIn, signUp, uniqueEmail } from './helpers';

/** Every page fits its width: nothing scrolls sideways on a phone or a laptop. */
const SIZES = [
  { name: 'phone', width: 390, height: 844 },
  { name: 'desktop', width: 1366, height: 900 },
];

async function expectNoSidewaysScroll(page: Page, label: string): Promise<void> {
  const { scrollWidth, innerWidth, culprits } = await page.evaluate(() => {
    // The innermost elements that reach past the right edge, to say what to fix.
    const past = [...document.querySelectorAll('body *')].filter(
      (el) => el.getBoundingClientRect().right > window.innerWidth + 1,
    );
    const innermost = past.filter((el) => !past.some((other) => other !== el && el.contains(other)));
    return {
      scrollWidth: document.documentElement.scrollWidth,
      innerWidth: window.innerWidth,
      culprits: innermost
        .slice(0, 5)
        .map((el) => `<${el.tagName.toLowerCase()} class="${el.className}"> ${el.textContent?.slice(0, 40)}`),
    };
  });
  expect(scrollWidth, `${label}: document width; past the edge: ${culprits.join(' | ')}`).toBeLessThanOrEqual(
    innerWidth,
  );
}

for (const size of SIZES) {
  test(`no page scrolls sideways at ${size.width}×${size.height} (${size.name})`, async ({ page, browser }) => {
    await page.setViewportSize({ width: size.width, height: size.height });
    for (const path of ['/login', '/signup', '/no-such-page']) {
      await page.goto(path);
      await expectNoSidewaysScroll(page, path);
    }

    // A long address, so the header has to make room for it.
    await signUp(page, uniqueEmail('a-rather-long-mailbox-name-for-layout'));
    await page.getByLabel('Application name').fill('Layout check with a fairly long application name');
    await page.getByRole('button', { name: 'Create application' }).click();
    await expect(page).toHaveURL(/\/apps\/fio[a-z0-9]{8}$/);
    const appPath = new URL(page.url()).pathname;

    await page.goto(`${appPath}/webhooks`);
    const addForm = page.getByRole('region', { name: 'Add an endpoint' });
    await addForm.getByLabel('Endpoint URL').fill('http://127.0.0.1:9/a/long/path/that/keeps/going/webhooks/faceio');
    await addForm.getByRole('button', { name: 'Add endpoint' }).click();
    await page.getByRole('button', { name: 'Send test event' }).click();
    await expect(page.getByTestId('test-result')).toBeVisible();

    await page.goto(`${appPath}/deliveries`);
    const firstDelivery = page.getByTestId('deliveries').locator('tbody tr a').first();
    const detailPath = await firstDelivery.getAttribute('href');

    for (const path of ['/apps', appPath, `${appPath}/webhooks`, `${appPath}/facial-ids`, `${appPath}/deliveries`, detailPath ?? '', '/account']) {
      await page.goto(path);
      await expectNoSidewaysScroll(page, path);
    }

    const operatorContext = await browser.newContext({ viewport: { width: size.width, height: size.height } });
    const operator = await operatorContext.newPage();
    await operator.goto('/login');
    await signIn(operator, OPERATOR_EMAIL, OPERATOR_PASSWORD);
    await expect(operator).toHaveURL(/\/apps$/);
    await operator.goto('/admin');
    await expectNoSidewaysScroll(operator, '/admin');
    await operatorContext.close();
  });
}
