import { addEndpoint, clickWhere, createApp, expect, expectAccessible, Receiver, signUp, test, uniqueEmail, waitForHydration } from './helpers';

test('deliveries: the list in words, search, the live feed, the exact body and redelivery', async ({ page, request }) => {
  const receiver = new Receiver();
  await receiver.listen();
  await signUp(page, uniqueEmail('deliveries'));
  const { path: appPath, apiKey } = await createApp(page, `Deliveries ${Date.now()}`);
  await addEndpoint(page, appPath, receiver.url, 'Primary receiver');

  // A test event that arrives, then one that cannot.
  await page.getByRole('button', { name: 'Send test event' }).click();
  await expect(page.getByTestId('test-result')).toContainText('Delivered: HTTP 200');
  await receiver.close();
  await page.getByRole('button', { name: 'Send test event' }).click();
  await expect(page.getByTestId('test-result')).toContainText('Connection refused');

  // The Deliveries tab: the endpoint by its name, outcomes in words, times relative.
  await page.goto(`${appPath}/deliveries`);
  await waitForHydration(page);
  const rows = page.getByTestId('deliveries').locator('tbody tr');
  await expect(rows).toHaveCount(2);
  await expect(rows.nth(0)).toHaveAttribute('data-status', 'failed');
  await expect(rows.nth(0)).toContainText('Connection refused');
  await expect(rows.nth(0)).toContainText('Primary receiver');
  await expect(rows.nth(1)).toContainText('HTTP 200');
  await expect(rows.nth(1).locator('time')).toHaveText(/just now|\d+ s ago/);
  await expect(rows.nth(1).locator('time')).toHaveAttribute('title', /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC$/);
  await expect(page.getByTestId('delivery-chart').locator('g.hour')).toHaveCount(24);

  // The live feed: an event sent through the API appears without a reload.
  await expect(page.getByTestId('live-status')).toContainText('Live');
  const facialId = `live-${Date.now()}`;
  const sent = await request.post('/api/v1/events', {
    headers: { Authorization: `Bearer ${apiKey}` },
    data: { eventName: 'enroll', facialId, clientIp: '203.0.113.7' },
  });
  expect(sent.status()).toBe(202);
  await expect(rows).toHaveCount(3);
  const enrollRow = rows.filter({ hasText: 'enroll' });
  // The receiver is down: the first attempt fails and the next waits for the schedule.
  await expect(enrollRow).toHaveAttribute('data-status', 'retrying');

  // Search by facial ID; filters live in the URL.
  await page.getByLabel('Delivery, event or facial ID').fill(facialId);
  await page.getByRole('button', { name: 'Filter' }).click();
  await expect(page).toHaveURL(new RegExp(`q=${facialId}`));
  await expect(rows).toHaveCount(1);
  await page.getByLabel('Status').selectOption('retrying');
  await page.getByRole('button', { name: 'Filter' }).click();
  await expect(page).toHaveURL(/status=retrying/);
  await expect(rows).toHaveCount(1);

  // Back up: the whole row opens the delivery; "Redeliver now" sends it with the same id.
  await receiver.listen();
  // Anywhere on the row opens it, not only the event's name.
  await clickWhere(page, rows.first().locator('td').nth(4));
  await expect(page).toHaveURL(/\/deliveries\/del_/);
  await waitForHydration(page);
  const webhookId = (await page.getByTestId('webhook-id').textContent()) ?? '';
  await expect(page.getByTestId('request-headers')).toContainText('Bearer ••••••••');
  await expect(page.getByTestId('attempt')).toHaveCount(1);
  await expect(page.getByTestId('attempt')).toContainText('Connection refused');
  await page.getByText('Replay with curl').click();
  await expect(page.getByTestId('curl')).toContainText('$FACEHOOK_WEBHOOK_TOKEN');
  await expectAccessible(page, 'delivery detail with curl open');
  await page.getByRole('button', { name: 'Redeliver now' }).click();
  await expect(page.getByTestId('delivery-status')).toHaveText('Delivered');
  await expect(page.getByTestId('attempt')).toHaveCount(2);
  expect(receiver.requests.length).toBe(2);
  expect(webhookId).toMatch(/^evt_/);
  expect(receiver.requests[1].headers['webhook-id']).toBe(webhookId);
  // The page's body is the bytes the receiver got.
  await expect(page.getByTestId('request-body')).toHaveText(receiver.bodies[1]);
  await receiver.close();
});

test('a failed delivery is sent again from its row', async ({ page, request }) => {
  const receiver = new Receiver();
  await receiver.listen();
  await signUp(page, uniqueEmail('redeliver-row'));
  const { path: appPath, apiKey } = await createApp(page, `Row redelivery ${Date.now()}`);
  await addEndpoint(page, appPath, receiver.url);
  await receiver.close();
  const sent = await request.post('/api/v1/events', {
    headers: { Authorization: `Bearer ${apiKey}` },
    data: { eventName: 'enroll', facialId: `row-${Date.now()}`, clientIp: '203.0.113.7' },
  });
  expect(sent.status()).toBe(202);
  // The retry is ten minutes away: "Redeliver" on the row sends it now.
  await expect(async () => {
    await page.goto(`${appPath}/deliveries?status=retrying`);
    await expect(page.getByTestId('deliveries').locator('tbody tr')).toHaveCount(1, { timeout: 500 });
  }).toPass();
  await receiver.listen();
  await page.getByTestId('deliveries').getByRole('button', { name: 'Redeliver' }).click();
  await expect(page).toHaveURL(/\/deliveries\/del_/);
  await expect(page.getByRole('status').filter({ hasText: 'Queued for redelivery.' })).toBeFocused();
  await expect(page.getByTestId('delivery-status')).toHaveText('Delivered');
  expect(receiver.requests.length).toBe(1);
  await receiver.close();
});
