import { expect, Page, test } from '@playwright/test';
import { OPERATOR_EMAIL, OPERATOR_PASSWORD } from '../playwright.config';
import { addEndpoint, createApp, signIn, signUp, uniqueEmail } from './helpers';

/** Every page fits its width: nothing scrolls sideways, from a small phone to a wide screen. */
const WIDTHS = [360, 390, 480, 720, 768, 1024, 1366, 1440];

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

test('no page scrolls sideways at any width from 360 to 1440 px', async ({ page, browser }) => {
  test.setTimeout(120_000);
  // A long address and long names, so the header and the tables have to make room.
  await signUp(page, uniqueEmail('a-rather-long-mailbox-name-for-layout'));
  const { path: appPath } = await createApp(page, 'Layout check with a fairly long application name');
  const endpointPath = await addEndpoint(
    page,
    appPath,
    'http://127.0.0.1:9/a/long/path/that/keeps/going/webhooks/faceio?with=a&query=string',
    'Primary receiver with a long description that must wrap',
  );
  await page.getByRole('button', { name: 'Send test event' }).click();
  await expect(page.getByTestId('test-result')).toBeVisible();
  await page.goto(`${appPath}/deliveries`);
  const detailPath = await page.getByTestId('deliveries').locator('tbody tr a').first().getAttribute('href');

  const operatorContext = await browser.newContext();
  const operator = await operatorContext.newPage();
  await operator.goto('/login');
  await signIn(operator, OPERATOR_EMAIL, OPERATOR_PASSWORD);
  await expect(operator).toHaveURL(/\/apps$/);

  const pages = [
    '/apps',
    appPath,
    `${appPath}/webhooks`,
    endpointPath,
    `${appPath}/facial-ids`,
    `${appPath}/deliveries`,
    detailPath ?? '',
    `${appPath}/events`,
    '/account',
    '/org',
    '/org/audit',
  ];
  for (const width of WIDTHS) {
    await page.setViewportSize({ width, height: 900 });
    for (const path of pages) {
      await page.goto(path);
      await expectNoSidewaysScroll(page, `${path} at ${width} px`);
    }
    // The phone menu, opened, fits too.
    if (width < 720) {
      await page.locator('details.nav-menu > summary').click();
      await expectNoSidewaysScroll(page, `open menu at ${width} px`);
    }
    await operator.setViewportSize({ width, height: 900 });
    for (const path of ['/admin', '/login', '/signup', '/forgot-password', '/reset-password?token=fhr_x', '/no-such-page']) {
      await operator.goto(path);
      await expectNoSidewaysScroll(operator, `${path} at ${width} px`);
    }
  }
  await operatorContext.close();
});
