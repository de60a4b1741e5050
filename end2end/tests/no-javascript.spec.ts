import { expect, Page, test } from '@playwright/test';
import { PASSWORD, signIn, uniqueEmail } from './helpers';

test.use({ javaScriptEnabled: false });

/** Sign-up, then sign-in, as plain form posts. */
async function signUpWithoutScript(page: Page, email: string): Promise<void> {
  await page.goto('/signup');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page).toHaveURL(/\/login$/);
  await signIn(page, email);
  await expect(page).toHaveURL(/\/apps$/);
}

test('sign up, sign out and sign in with JavaScript disabled', async ({ page }) => {
  const email = uniqueEmail('nojs');
  await page.goto('/signup');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page).toHaveURL(/\/login$/);
  await expect(page.getByRole('status')).toContainText('Your account is ready. Sign in to continue.');
  await signIn(page, email);
  await expect(page).toHaveURL(/\/apps$/);

  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/login\?signed_out=1$/);

  await signIn(page, email, 'wrong password!');
  await expect(page.getByRole('alert')).toHaveText('Email or password is incorrect.');

  await signIn(page, email);
  await expect(page).toHaveURL(/\/apps$/);
  await expect(page.getByRole('navigation', { name: 'Main' })).toContainText(email);
});

test('create an application and save an endpoint with JavaScript disabled', async ({ page }) => {
  await signUpWithoutScript(page, uniqueEmail('nojs-apps'));

  await page.getByLabel('Application name').fill('No-script app');
  await page.getByRole('button', { name: 'Create application' }).click();
  await expect(page).toHaveURL(/\/apps\/fio[a-z0-9]{8}$/);
  await expect(page.getByTestId('issued-api-key')).toHaveText(/^fhk_live_/);

  await page.getByRole('link', { name: 'WEBHOOKS' }).click();
  const addForm = page.getByRole('region', { name: 'Add an endpoint' });
  await addForm.getByLabel('Endpoint URL').fill('http://10.1.2.3/hook');
  await addForm.getByRole('button', { name: 'Add endpoint' }).click();
  await expect(addForm.getByLabel('Endpoint URL')).toHaveAccessibleDescription(/private address/);

  await addForm.getByLabel('Endpoint URL').fill('https://example.com/no-script');
  await addForm.getByRole('button', { name: 'Add endpoint' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Endpoint saved.' })).toBeVisible();
  await expect(page.getByRole('article', { name: 'Endpoint https://example.com/no-script' })).toBeVisible();
});

test('the Deliveries tab, a delivery and redelivery with JavaScript disabled', async ({ page, request }) => {
  await signUpWithoutScript(page, uniqueEmail('nojs-deliveries'));
  await page.getByLabel('Application name').fill('No-script deliveries');
  await page.getByRole('button', { name: 'Create application' }).click();
  const apiKey = (await page.getByTestId('issued-api-key').textContent()) ?? '';
  const appUrl = page.url();

  // Nothing listens on port 9: the first attempt fails and the retry is ten minutes away.
  await page.getByRole('link', { name: 'WEBHOOKS' }).click();
  const addForm = page.getByRole('region', { name: 'Add an endpoint' });
  await addForm.getByLabel('Endpoint URL').fill('http://127.0.0.1:9/closed');
  await addForm.getByRole('button', { name: 'Add endpoint' }).click();
  await expect(page.getByRole('article', { name: 'Endpoint http://127.0.0.1:9/closed' })).toBeVisible();
  const sent = await request.post('/api/v1/events', {
    headers: { Authorization: `Bearer ${apiKey}` },
    data: { eventName: 'enroll', facialId: `nojs-${Date.now()}`, clientIp: '203.0.113.7' },
  });
  expect(sent.status()).toBe(202);

  // Server-rendered: the chart, the list, a refresh link in place of the live feed.
  await expect(async () => {
    await page.goto(`${appUrl}/deliveries?status=retrying`);
    await expect(page.getByTestId('deliveries').locator('tbody tr')).toHaveCount(1, { timeout: 500 });
  }).toPass();
  await expect(page.getByTestId('delivery-chart').locator('svg')).toBeVisible();
  await expect(page.getByTestId('live-status').getByRole('link', { name: 'Refresh' })).toBeVisible();
  await expect(page.getByLabel('Status')).toHaveValue('retrying');

  // Counting failed deliveries is a plain GET form.
  await page.getByLabel('Failed since (UTC)').fill('2020-01-01T00:00');
  await page.getByRole('button', { name: 'Count failed deliveries' }).click();
  await expect(page).toHaveURL(/replay_since=2020-01-01T00%3A00/);
  await expect(page.getByTestId('replay-count')).toHaveText('No failed deliveries to replay in that range.');

  await page.getByTestId('deliveries').locator('tbody tr').first().getByRole('link', { name: 'enroll' }).click();
  await expect(page.getByTestId('delivery-status')).toHaveText('Retrying');
  await expect(page.getByTestId('attempt')).toContainText('connect');
  await page.getByRole('button', { name: 'Redeliver now' }).click();
  await expect(page).toHaveURL(/\/deliveries\/del_/);
  await expect(page.getByRole('status').filter({ hasText: 'Queued for redelivery.' })).toBeVisible();
});
