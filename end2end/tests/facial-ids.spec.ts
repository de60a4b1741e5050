import { expect, signUp, test, uniqueEmail, waitForHydration } from './helpers';

test('the Facial IDs tab lists an enrolled ID, shows its payload and deletes it', async ({ page, request }) => {
  await signUp(page, uniqueEmail('registry'));
  await page.getByLabel('Application name').fill('Registry app');
  await page.getByRole('button', { name: 'Create application' }).click();
  const apiKey = (await page.getByTestId('issued-api-key').textContent()) ?? '';
  expect(apiKey).toMatch(/^fhk_live_/);

  const facialId = `e2e-${Date.now()}`;
  const enrolled = await request.post('/api/v1/events', {
    headers: { Authorization: `Bearer ${apiKey}` },
    data: { eventName: 'enroll', facialId, clientIp: '203.0.113.7', payload: { badge: 'A-17' } },
  });
  expect(enrolled.status()).toBe(202);

  await page.getByRole('link', { name: 'Facial IDs' }).click();
  await expect(page).toHaveURL(/\/facial-ids$/);
  const entry = page.getByRole('article', { name: `Facial ID ${facialId}` });
  await expect(entry).toBeVisible();
  await entry.getByText('Linked payload').click();
  await expect(entry.getByTestId('linked-payload')).toContainText('"badge": "A-17"');
  await expect(page.getByRole('region', { name: 'Events in the last 24 hours' })).toContainText('New enrollment');

  await waitForHydration(page);
  await entry.getByLabel('Confirm deletion').check();
  await entry.getByRole('button', { name: `Delete facial ID ${facialId}` }).click();
  await expect(entry).toHaveCount(0);
  await expect(page.getByText('No facial IDs enrolled yet')).toBeVisible();

  const gone = await request.get(`/api/v1/facial-ids/${facialId}`, {
    headers: { Authorization: `Bearer ${apiKey}` },
  });
  expect(gone.status()).toBe(404);
});
