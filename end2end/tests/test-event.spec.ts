import { addEndpoint, createApp, expect, Receiver, signUp, test, uniqueEmail } from './helpers';

test('send a test event: success inline, then the failure in words once the receiver is gone', async ({ page }) => {
  const receiver = new Receiver();
  await receiver.listen();
  await signUp(page, uniqueEmail('test-event'));
  const { path: appPath } = await createApp(page, `Test events ${Date.now()}`);
  await addEndpoint(page, appPath, receiver.url);

  await page.getByRole('button', { name: 'Send test event' }).click();
  const result = page.getByTestId('test-result');
  await expect(result).toContainText(/Delivered: HTTP 200 over HTTP\/1\.1 in \d+ ms/);
  await expect(result).toContainText('received');
  expect(JSON.parse(receiver.bodies[0]).eventName).toBe('test');

  await receiver.close();
  await page.getByRole('button', { name: 'Send test event' }).click();
  await expect(result).toContainText(/Failed after \d+ ms: Connection refused/);
  expect(receiver.bodies).toHaveLength(1);
  // The endpoint's own page lists both, newest first.
  const rows = page.getByTestId('deliveries').locator('tbody tr');
  await expect(rows).toHaveCount(2);
  await expect(rows.nth(0)).toContainText('Connection refused');
});
