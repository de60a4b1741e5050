import { Page } from '@playwright/test';
import { expect, openNavigation, PASSWORD, signIn, test, uniqueEmail } from './helpers';

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

  await openNavigation(page);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/login\?signed_out=1$/);

  await signIn(page, email, 'wrong password!');
  await expect(page.getByRole('alert')).toHaveText('Email or password is incorrect.');

  await signIn(page, email);
  await expect(page).toHaveURL(/\/apps$/);
  await openNavigation(page);
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
  await addForm.getByLabel('Description').fill('Kept after the error');
  await addForm.getByRole('button', { name: 'Add endpoint' }).click();
  // A clean address, the reason on the field, and what was typed still there.
  await expect(page).toHaveURL(/\/apps\/fio[a-z0-9]{8}\/webhooks$/);
  await expect(addForm.getByLabel('Endpoint URL')).toHaveAccessibleDescription(/private address/);
  await expect(addForm.getByLabel('Endpoint URL')).toHaveValue('http://10.1.2.3/hook');
  await expect(addForm.getByLabel('Description')).toHaveValue('Kept after the error');

  await addForm.getByLabel('Endpoint URL').fill('https://example.com/no-script');
  await addForm.getByRole('button', { name: 'Add endpoint' }).click();
  await expect(page).toHaveURL(/\/webhooks\/ep_[A-Za-z0-9_-]+$/);
  await expect(page.getByRole('status').filter({ hasText: 'Endpoint added.' })).toBeVisible();
  await expect(page.getByTestId('endpoint-url')).toHaveText('https://example.com/no-script');

  // Destructive actions confirm without JavaScript too: a <details> opens the question.
  await page.getByText('Delete endpoint…').click();
  await expect(page.getByText('Delete the endpoint “Kept after the error” (https://example.com/no-script)?')).toBeVisible();
  await page.getByRole('button', { name: 'Delete endpoint', exact: true }).click();
  await expect(page).toHaveURL(/\/webhooks$/);
  await expect(page.getByRole('status').filter({ hasText: 'Endpoint deleted.' })).toBeVisible();

  // The theme is a plain form too, remembered by the browser.
  await page.getByRole('button', { name: 'Dark' }).click();
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
  await page.goto('/apps');
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
  await expect(page.getByRole('button', { name: 'Dark' })).toHaveAttribute('aria-pressed', 'true');
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
  await expect(page.getByTestId('endpoint-url')).toHaveText('http://127.0.0.1:9/closed');
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
  await expect(page.getByTestId('attempt')).toContainText('Connection refused');
  await page.getByRole('button', { name: 'Redeliver now' }).click();
  await expect(page).toHaveURL(/\/deliveries\/del_/);
  await expect(page.getByRole('status').filter({ hasText: 'Queued for redelivery.' })).toBeVisible();
});
