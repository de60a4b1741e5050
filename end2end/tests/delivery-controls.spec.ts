import {
  addEndpoint,
  createApp,
  expect,
  Receiver,
  signUp,
  test,
  uniqueEmail,
} from './helpers';

test('delivery settings: order, ed25519, headers (one secret), retries and rate, then HTTPS only', async ({ page }, info) => {
  const receiver = new Receiver();
  await receiver.listen();
  await signUp(page, uniqueEmail('controls'));
  const { path: appPath } = await createApp(page, `Turnstiles ${Date.now()}`);
  const endpointPath = await addEndpoint(page, appPath, receiver.url, 'Gate');

  const card = page.getByRole('region', { name: 'Delivery' });
  await expect(card.getByLabel('Deliver in order per facial ID')).not.toBeChecked();
  await expect(card.getByLabel('HMAC-SHA256 (v1)')).toBeChecked();
  await expect(card.getByTestId('public-key')).toHaveCount(0);

  // A reserved header is refused on its field, with the reason.
  await card.getByLabel('Header 1 name').fill('Host');
  await card.getByLabel('Header 1 value').fill('evil.example');
  await card.getByRole('button', { name: 'Save delivery settings' }).click();
  const refused = page.getByRole('region', { name: 'Delivery' });
  await expect(refused.getByText('Host cannot be set: it is taken from the endpoint\'s URL.')).toBeVisible();

  const form = page.getByRole('region', { name: 'Delivery' });
  await form.getByLabel('Deliver in order per facial ID').check();
  await form.getByLabel('Both, while receivers switch').check();
  await form.getByLabel('Header 1 name').fill('X-Route');
  await form.getByLabel('Header 1 value').fill('gate-eu');
  await form.getByLabel('Header 2 name').fill('X-Api-Key');
  await form.getByLabel('Header 2 value').fill('gw-s3cret');
  await form.locator('input[name="headers[1][secret]"]').check();
  await form.getByLabel(/^Quick/).check();
  await form.getByLabel('Rate limit (deliveries per second)').fill('50');
  await form.getByRole('button', { name: 'Save delivery settings' }).click();
  await expect(page).toHaveURL(new RegExp(`${endpointPath}$`));
  await expect(page.getByRole('status').filter({ hasText: 'Delivery settings saved.' })).toBeVisible();

  // As saved: the secret value is never shown again; the public key is, to copy.
  const saved = page.getByRole('region', { name: 'Delivery' });
  await expect(saved.getByLabel('Deliver in order per facial ID')).toBeChecked();
  await expect(saved.getByLabel('Both, while receivers switch')).toBeChecked();
  await expect(saved.getByTestId('public-key')).toHaveText(/^whpk_[A-Za-z0-9+/]{43}=$/);
  await expect(saved.getByLabel('Header 1 value')).toHaveValue('gate-eu');
  await expect(saved.getByLabel('Header 2 value')).toHaveValue('');
  await expect(saved.getByLabel('Header 2 value')).toHaveAttribute('placeholder', /kept/);
  await expect(page.locator('body')).not.toContainText('gw-s3cret');
  await expect(saved.getByLabel(/^Quick/)).toBeChecked();
  await expect(saved.getByLabel('Rate limit (deliveries per second)')).toHaveValue('50');
  await saved.screenshot({ path: info.outputPath('delivery-settings.png') });
  expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);

  // A test event carries the headers and both signatures.
  await page.getByRole('button', { name: 'Send test event' }).click();
  await expect(page.getByTestId('test-result')).toContainText('Delivered: HTTP 200');
  await expect.poll(() => receiver.requests.length).toBe(1);
  const headers = receiver.requests[0].headers;
  expect(headers['x-route']).toBe('gate-eu');
  expect(headers['x-api-key']).toBe('gw-s3cret');
  expect(String(headers['webhook-signature'])).toMatch(/^v1,\S+ v1a,\S+$/);

  // HTTPS only cannot be turned on while this http:// endpoint remains, and says why.
  await page.goto(`${appPath}/webhooks`);
  const security = page.getByRole('region', { name: 'Transport security' });
  await security.getByLabel('HTTPS only').check();
  await security.getByRole('button', { name: 'Save' }).click();
  await expect(
    page.getByRole('region', { name: 'Transport security' }).getByText('1 endpoint still uses http://; change it to https:// first.'),
  ).toBeVisible();
  await expect(page.getByRole('region', { name: 'Transport security' }).getByLabel('HTTPS only')).not.toBeChecked();
  await page.getByRole('region', { name: 'Transport security' }).screenshot({ path: info.outputPath('transport-security.png') });
  await receiver.close();
});

test('a held delivery says which one it waits behind', async ({ page, request }) => {
  const receiver = new Receiver();
  await receiver.listen();
  await signUp(page, uniqueEmail('held'));
  const { path: appPath, apiKey } = await createApp(page, `Held ${Date.now()}`);
  const endpointPath = await addEndpoint(page, appPath, receiver.url, 'Lobby');
  await page.getByRole('region', { name: 'Delivery' }).getByLabel('Deliver in order per facial ID').check();
  await page.getByRole('region', { name: 'Delivery' }).getByRole('button', { name: 'Save delivery settings' }).click();
  await expect(page).toHaveURL(new RegExp(`${endpointPath}$`));
  await expect(page.getByRole('status').filter({ hasText: 'Delivery settings saved.' })).toBeVisible();
  // The receiver is down: the enroll keeps failing (its next try is minutes away) and the
  // authentication behind it waits.
  await receiver.close();
  const facialId = `held-${Date.now()}`;
  for (const eventName of ['enroll', 'auth']) {
    const sent = await request.post('/api/v1/events', {
      headers: { Authorization: `Bearer ${apiKey}` },
      data: { eventName, facialId, clientIp: '203.0.113.7' },
    });
    expect(sent.status()).toBe(202);
  }
  await expect(async () => {
    await page.goto(`${appPath}/deliveries?status=retrying`);
    await expect(page.getByTestId('deliveries').locator('tbody tr')).toHaveCount(1, { timeout: 500 });
  }).toPass();
  await page.goto(`${appPath}/deliveries?status=held`);
  const held = page.getByTestId('deliveries').locator('tbody tr');
  await expect(held).toHaveCount(1);
  await expect(held).toContainText('Waiting in order');
  await expect(held.getByRole('button', { name: 'Redeliver' })).toHaveCount(0);
  await held.getByRole('link').first().click();
  await expect(page.getByTestId('delivery-status')).toHaveText('Waiting in order');
  const notice = page.getByTestId('waiting-behind');
  await expect(notice).toContainText(/Waiting behind del_/);
  await expect(page.getByRole('button', { name: 'Redeliver now' })).toHaveCount(0);
  await notice.getByRole('link').click();
  await expect(page.getByTestId('delivery-status')).toHaveText('Retrying');
  await expect(page.getByTestId('retry-schedule')).toHaveText("The server's schedule");
});
