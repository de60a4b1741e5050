import { Browser, Page } from '@playwright/test';
import {
  addEndpoint,
  createApp,
  expect,
  expectAccessible,
  mailTo,
  openNavigation,
  PASSWORD,
  signIn,
  signUp,
  test,
  uniqueEmail,
} from './helpers';

/** Invites `email` as `role` from the organization page; returns the mailed link. */
async function invite(page: Page, email: string, role: string): Promise<string> {
  await page.goto('/org');
  const card = page.getByRole('region', { name: 'Invite someone' });
  await card.getByLabel('Email').fill(email);
  await card.getByLabel('Role').selectOption(role);
  await card.getByRole('button', { name: 'Send invitation' }).click();
  await expect(page.locator('p.flash')).toContainText(`Invitation mailed to ${email}`);
  await expect(page.getByTestId('invitation').filter({ hasText: email })).toBeVisible();
  let mail: string | undefined;
  await expect.poll(() => (mail = mailTo(email, 'Join '))).toBeTruthy();
  const link = /http:\/\/127\.0\.0\.1:\d+\/invite\/fhi_[A-Za-z0-9]+/.exec(mail ?? '')?.[0];
  expect(link).toBeTruthy();
  return link!;
}

/** An owner with an application and an endpoint, and a new member with `role` in its own browser. */
async function team(page: Page, browser: Browser, role: string, appName: string) {
  const owner = uniqueEmail('team-owner');
  const member = uniqueEmail(`team-${role}`);
  await signUp(page, owner);
  const { path } = await createApp(page, appName);
  const endpointPath = await addEndpoint(page, path, `https://example.com/${role}`, 'Orders');
  const link = await invite(page, member, role);
  await expectAccessible(page, 'organization page with a pending invitation');
  const memberPage = await acceptAsNewAccount(browser, link, member, page);
  return { owner, member, path, endpointPath, memberPage };
}

/** Opens an invitation link in a new browser, creates the account there, signs in and joins. */
async function acceptAsNewAccount(browser: Browser, link: string, email: string, viewport: Page): Promise<Page> {
  const context = await browser.newContext({ viewport: viewport.viewportSize() });
  const page = await context.newPage();
  await page.goto(link);
  await expect(page.getByRole('heading', { name: /^Join / })).toBeVisible();
  await page.getByRole('link', { name: 'Create an account' }).click();
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page).toHaveURL(/\/login\?next=/);
  await signIn(page, email);
  await expect(page).toHaveURL(/\/invite\/fhi_/);
  await page.getByRole('button', { name: 'Join organization' }).click();
  await expect(page).toHaveURL(/\/apps$/);
  await expect(page.locator('p.flash')).toContainText('Welcome to');
  return page;
}

test('a developer joins by mail, edits an endpoint, cannot delete the application; the owner audits it', async ({
  page,
  browser,
}) => {
  const { owner, member: developer, path, endpointPath, memberPage: dev } = await team(
    page,
    browser,
    'developer',
    'Team app',
  );

  // The shared application is in the developer's list; its endpoint can be edited.
  await dev.getByRole('link', { name: 'Team app' }).click();
  await dev.goto(endpointPath);
  const settings = dev.getByRole('region', { name: 'Settings' });
  await settings.getByLabel('Description').fill('Orders v2');
  await settings.getByRole('button', { name: 'Save endpoint' }).click();
  await expect(dev.locator('p.flash')).toContainText('Endpoint saved.');

  // Deleting the application is not theirs to do: the page says so instead of offering it.
  await dev.goto(path);
  await expect(dev.getByRole('button', { name: 'Delete application' })).toHaveCount(0);
  await expect(dev.getByTestId('role-note')).toContainText('Your role (Developer) cannot delete applications');
  await dev.context().close();

  // The owner sees the invitation, the joining and the edit in the audit log.
  await page.goto('/org');
  await expect(page.getByTestId('member').filter({ hasText: developer })).toContainText('Developer');
  await page.getByRole('link', { name: 'Audit log' }).click();
  await expect(page).toHaveURL(/\/org\/audit$/);
  const log = page.getByTestId('audit-log');
  await expect(log.getByTestId('audit-entry').filter({ hasText: 'member.invite' })).toContainText(owner);
  await expect(log.getByTestId('audit-entry').filter({ hasText: 'member.invitation_accept' })).toContainText(developer);
  const edit = log.getByTestId('audit-entry').filter({ hasText: 'endpoint.update' });
  await expect(edit).toContainText(developer);
  await expect(edit).toContainText('Orders v2');
  // Filtered to the developer's actions only.
  await page.getByLabel('Actor (email starts with)').fill(developer);
  await page.getByRole('button', { name: 'Filter' }).click();
  await expect(page).toHaveURL(/actor=/);
  await expect(log.getByTestId('audit-entry').filter({ hasText: owner })).toHaveCount(0);
  await expect(log.getByTestId('audit-entry').first()).toContainText(developer);
});

test('a viewer sees the endpoint but cannot reveal its secret; the switcher changes organization', async ({
  page,
  browser,
}) => {
  const { member: viewer, endpointPath, memberPage: view } = await team(page, browser, 'viewer', 'Watched app');

  await view.goto(endpointPath);
  await expect(view.getByTestId('endpoint-url')).toHaveText('https://example.com/viewer');
  await expect(view.getByRole('link', { name: 'Reveal signing secret' })).toHaveCount(0);
  await expect(view.getByRole('region', { name: 'Signing secret' }).getByTestId('role-note')).toContainText(
    'Your role (Viewer) cannot reveal secrets',
  );
  await expectAccessible(view, 'endpoint page as a viewer');
  // Asking for it by address is refused too: nothing is shown.
  await view.goto(`${endpointPath}?reveal=secret`);
  await expect(view.getByTestId('current-secret')).toHaveCount(0);

  // Their own organization is one switch away, and has none of the team's applications.
  await openNavigation(view);
  const switcher = view.locator('details.org-switch:visible');
  await switcher.locator('summary').click();
  const own = viewer.split('@')[0];
  await switcher.getByRole('button', { name: own }).click();
  await expect(view).toHaveURL(/\/apps$/);
  await expect(view.locator('p.flash')).toContainText(`Now in ${own}.`);
  await expect(view.getByRole('link', { name: 'Watched app' })).toHaveCount(0);
  await view.context().close();
});
