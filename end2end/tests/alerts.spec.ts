import { Page } from '@playwright/test';
import { addEndpoint, createApp, expect, expectAccessible, signUp, test, uniqueEmail, waitForHydration } from './helpers';

/** Nothing listens on port 1: every attempt to it is refused. */
const REFUSED = 'http://127.0.0.1:1/hook';

/** Makes one failed attempt enough for `endpoint.failing`, from the organization page. */
async function alertAfterOneFailure(page: Page): Promise<void> {
  await page.goto('/org');
  const card = page.getByRole('region', { name: 'Alert rules' });
  await card.getByLabel('Consecutive failed attempts').fill('1');
  await card.getByRole('button', { name: 'Save alert rules' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Alert rules saved.' })).toBeVisible();
  await expect(page.getByTestId('alert-rules')).toContainText('after 1 consecutive failed attempts');
}

test('the bell counts a new alert live, and the alerts page links to the endpoint', async ({ page, request }) => {
  await signUp(page, uniqueEmail('alerts'));
  const { path, apiKey } = await createApp(page, 'Front door');
  const endpointPath = await addEndpoint(page, path, REFUSED, 'Door log');
  await alertAfterOneFailure(page);

  // A rule that cannot hold is refused on its field.
  const card = page.getByRole('region', { name: 'Alert rules' });
  await card.getByLabel('Success rate under (%)').fill('100');
  await card.getByRole('button', { name: 'Save alert rules' }).click();
  await expect(card.getByLabel('Success rate under (%)')).toHaveAccessibleDescription(/from 1 to 99/);

  await page.goto('/apps');
  await waitForHydration(page);
  const bell = page.getByTestId('alert-bell');
  await expect(bell).toHaveAccessibleName('Alerts: none unread');
  await expectAccessible(page, 'applications with no unread alert');

  const sent = await request.post('/api/v1/events', {
    headers: { Authorization: `Bearer ${apiKey}` },
    data: { eventName: 'enroll', facialId: `alert-${Date.now()}`, clientIp: '203.0.113.7' },
  });
  expect(sent.status()).toBe(202);
  // No reload: the count arrives over the bell's live feed.
  await expect(page.getByTestId('alert-count')).toHaveText('1', { timeout: 15_000 });
  await expect(bell).toHaveAccessibleName('Alerts: 1 unread');
  await expectAccessible(page, 'applications with an unread alert');

  await bell.click();
  await expect(page).toHaveURL(/\/alerts$/);
  const alert = page.getByTestId('alert').first();
  await expect(alert).toHaveAttribute('data-kind', 'endpoint.failing');
  await expect(alert).toContainText('New');
  await expect(alert).toContainText('its last 1 attempts failed');
  await expect(alert.getByTestId('alert-episode')).toContainText('Episode open since');
  await expect(page.getByTestId('open-episodes')).toHaveText('1 episode is open.');
  await expectAccessible(page, 'alerts page with an open episode');

  await alert.getByTestId('alert-endpoint-link').click();
  await expect(page).toHaveURL(new RegExp(`${endpointPath}$`));
  // Seen: the bell is back to none.
  await expect(page.getByTestId('alert-bell')).toHaveAccessibleName('Alerts: none unread');
});

test('each member chooses which alerts are mailed, and owners set the operational webhook', async ({ page }) => {
  await signUp(page, uniqueEmail('alert-mail'));
  await page.goto('/account');
  const mail = page.getByRole('region', { name: 'Alert emails' });
  // Operators' kinds are not offered to an account owner.
  await expect(mail.getByLabel(/queue\.backlog/)).toHaveCount(0);
  await mail.getByLabel(/endpoint\.failing/).check();
  await mail.getByLabel(/endpoint\.disabled/).check();
  await mail.getByRole('button', { name: 'Save alert emails' }).click();
  await expect(page.getByRole('status').filter({ hasText: '2 kinds of alerts are mailed to you' })).toBeVisible();
  await expect(mail.getByLabel(/endpoint\.failing/)).toBeChecked();
  await expect(mail.getByLabel(/delivery\.exhausted/)).not.toBeChecked();
  await expectAccessible(page, 'account page with alert emails chosen');

  await page.goto('/org');
  const hook = page.getByRole('region', { name: 'Operational webhook' });
  await hook.getByLabel('Operational webhook URL').fill('http://10.1.2.3/ops');
  await hook.getByRole('button', { name: 'Save webhook' }).click();
  await expect(hook.getByLabel('Operational webhook URL')).toHaveAccessibleDescription(/private|not allowed|refused/i);
  await hook.getByLabel('Operational webhook URL').fill('https://ops.example.com/facehook');
  await hook.getByRole('button', { name: 'Save webhook' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Operational webhook saved' })).toBeVisible();
  await expect(page.getByTestId('ops-webhook-state')).toContainText('https://ops.example.com/facehook');
  await expect(page.getByTestId('ops-secret')).toHaveText(/^whsec_/);
  await expectAccessible(page, 'organization page with an operational webhook');

  // Removing it is red and asks first.
  await hook.getByText('Remove webhook…').click();
  await expect(hook.getByRole('button', { name: 'Remove webhook' })).toHaveClass(/danger/);
  await expectAccessible(page, 'operational webhook removal confirmation open');
  await hook.getByRole('button', { name: 'Remove webhook' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Operational webhook removed' })).toBeVisible();
  await expect(page.getByTestId('ops-webhook-state')).toContainText('Not set');
});

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('alert emails and rules save with plain forms, and the alerts page lists alerts', async ({ page, request }) => {
    test.setTimeout(120_000);
    await signUp(page, uniqueEmail('alerts-nojs'));
    const { path, apiKey } = await createApp(page, 'Side door');
    await addEndpoint(page, path, REFUSED);
    await alertAfterOneFailure(page);
    await page.goto('/account');
    const mail = page.getByRole('region', { name: 'Alert emails' });
    await mail.getByLabel(/delivery\.exhausted/).check();
    await mail.getByRole('button', { name: 'Save alert emails' }).click();
    await expect(page.getByRole('status').filter({ hasText: 'one kind of alert is mailed to you' })).toBeVisible();

    await page.goto('/alerts');
    await expect(page.getByTestId('no-alerts')).toBeVisible();
    const sent = await request.post('/api/v1/events', {
      headers: { Authorization: `Bearer ${apiKey}` },
      data: { eventName: 'enroll', facialId: `nojs-${Date.now()}`, clientIp: '203.0.113.7' },
    });
    expect(sent.status()).toBe(202);
    // Without JavaScript the bell shows the count of when the page was drawn.
    await expect(async () => {
      await page.goto('/apps');
      await expect(page.getByTestId('alert-count')).toHaveText('1', { timeout: 500 });
    }).toPass({ timeout: 15_000 });
    await page.getByTestId('alert-bell').click();
    await expect(page.getByTestId('alert').first()).toHaveAttribute('data-kind', 'endpoint.failing');
    // axe runs inside the page, so it cannot scan with JavaScript off; the same page is scanned
    // with JavaScript in the test above.
  });
});
