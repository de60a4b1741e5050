import { createApp, expect, mailTo, signUp, test, uniqueEmail } from './helpers';

test('screenshots of the organization pages', async ({ page, browser }, info) => {
  const size = info.project.name;
  const owner = uniqueEmail('shots-owner');
  await signUp(page, owner);
  await createApp(page, 'Shots app');
  await page.goto('/org');
  const card = page.getByRole('region', { name: 'Invite someone' });
  const invitee = uniqueEmail('shots-dev');
  await card.getByLabel('Email').fill(invitee);
  await card.getByRole('button', { name: 'Send invitation' }).click();
  await expect(page.locator('p.flash')).toBeVisible();
  await page.screenshot({ path: `/tmp/shots/org-${size}.png`, fullPage: true });
  let mail: string | undefined;
  await expect.poll(() => (mail = mailTo(invitee, 'Join '))).toBeTruthy();
  const link = /http:\/\/127\.0\.0\.1:\d+\/invite\/fhi_[A-Za-z0-9]+/.exec(mail ?? '')![0];
  await page.goto('/org/audit');
  await page.screenshot({ path: `/tmp/shots/audit-${size}.png`, fullPage: true });
  const context = await browser.newContext({ viewport: page.viewportSize() });
  const other = await context.newPage();
  await other.goto(link);
  await other.screenshot({ path: `/tmp/shots/invite-${size}.png`, fullPage: true });
  await context.close();
  await page.goto('/apps');
  const menu = page.locator('details.nav-menu');
  if (await menu.isVisible()) await menu.locator(':scope > summary').click();
  await page.screenshot({ path: `/tmp/shots/apps-${size}.png` });
});
