import { OPERATOR_EMAIL, OPERATOR_PASSWORD } from '../playwright.config';
import {
  addEndpoint,
  clickWhere,
  createApp,
  expect,
  expectAccessible,
  Receiver,
  signIn,
  signUp,
  test,
  uniqueEmail,
  waitForHydration,
  withTimestamp,
} from './helpers';

test('an endpoint: add, open, test, rotate its secret and delete it, each confirmed', async ({ page }) => {
  const receiver = new Receiver();
  await receiver.listen();
  await signUp(page, uniqueEmail('endpoint-page'));
  const { path: appPath } = await createApp(page, `Door kiosk ${Date.now()}`);

  // A bad URL keeps what was typed and says why, on the field.
  await page.goto(`${appPath}/webhooks`);
  const addForm = page.getByRole('region', { name: 'Add an endpoint' });
  await addForm.getByLabel('Endpoint URL').fill('ftp://example.com/hook');
  await addForm.getByLabel('Description').fill('Front desk');
  await addForm.getByRole('button', { name: 'Add endpoint' }).click();
  await expect(page).toHaveURL(new RegExp(`${appPath}/webhooks$`));
  const urlInput = addForm.getByLabel('Endpoint URL');
  await expect(urlInput).toHaveAttribute('aria-invalid', 'true');
  await expect(urlInput).toHaveAccessibleDescription(/Only http and https URLs are accepted/);
  await expect(urlInput).toHaveValue('ftp://example.com/hook');
  await expect(addForm.getByLabel('Description')).toHaveValue('Front desk');

  // "Only these" shows the kinds; "All events" hides them.
  await expect(addForm.getByLabel('New enrollment')).toBeHidden();
  await addForm.getByLabel('Only these:').check();
  await expect(addForm.getByLabel('New enrollment')).toBeVisible();
  await addForm.getByLabel('All events').check();

  const endpointPath = await addEndpoint(page, appPath, receiver.url, 'Front desk');
  await expect(page.getByRole('heading', { name: 'Front desk' })).toBeVisible();
  await expect(page.getByTestId('endpoint-url')).toHaveText(receiver.url);
  await expect(page.getByText('Nothing sent to this endpoint yet.')).toBeVisible();

  // The list: one row per endpoint, the whole row opens its page.
  await page.goto(`${appPath}/webhooks`);
  const row = page.getByTestId('endpoints').locator('tbody tr');
  await expect(row).toHaveCount(1);
  await expect(row).toContainText('Front desk');
  await expect(row).toContainText('All events');
  await clickWhere(page, row.locator('td').nth(2));
  await expect(page).toHaveURL(new RegExp(`${endpointPath}$`));

  // Test event: the body it sends is shown first, then the result.
  const shownText = (await page.getByTestId('test-body').textContent()) ?? '';
  const shownBody = JSON.parse(shownText);
  expect(shownBody.eventName).toBe('test');
  await page.getByRole('button', { name: 'Send test event' }).click();
  await expect(page.getByTestId('test-result')).toContainText(/Delivered: HTTP 200 over HTTP\/1\.1 in \d+ ms/);
  // What was shown is what arrived, but for the moment it was sent.
  expect(withTimestamp(receiver.bodies[0], shownBody.details.timestamp)).toBe(shownText);

  // Any event type can be sent as a test: choose it, see its body, send it.
  await page.getByLabel('Event type').selectOption('enroll');
  await page.getByRole('button', { name: 'Show body' }).click();
  await expect(page).toHaveURL(/test_type=enroll/);
  const enrollText = (await page.getByTestId('test-body').textContent()) ?? '';
  expect(JSON.parse(enrollText).eventName).toBe('enroll');
  await page.getByRole('button', { name: 'Send test event' }).click();
  await expect(page.getByTestId('test-result')).toContainText('Delivered: HTTP 200');
  await expect.poll(() => receiver.bodies.length).toBe(2);
  expect(withTimestamp(receiver.bodies[1], JSON.parse(enrollText).details.timestamp)).toBe(enrollText);

  // Rotating the secret asks first, naming the endpoint; the new secret is shown after.
  await page.getByRole('link', { name: 'Reveal signing secret' }).click();
  const current = page.getByTestId('current-secret');
  await expect(current).toHaveText(/^whsec_/);
  const original = (await current.textContent()) ?? '';
  await page.getByText('Rotate signing secret…').click();
  await expect(page.getByText('Rotate the signing secret of “Front desk”?')).toBeVisible();
  await expectAccessible(page, 'rotate confirmation open');
  await page.getByRole('button', { name: 'Rotate signing secret', exact: true }).click();
  const rotated = page.getByRole('status').filter({ hasText: 'Signing secret rotated' });
  await expect(rotated).toBeFocused();
  await expect(page.getByTestId('previous-secret')).toHaveText(original);
  await expect(current).not.toHaveText(original);
  await expect(page.getByTestId('previous-expiry')).toContainText(/valid until \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC/);

  // Saving a change answers with a notice and the page shows the new state at once.
  await page.getByLabel('Enabled').uncheck();
  await page.getByRole('button', { name: 'Save endpoint' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Endpoint saved.' })).toBeFocused();
  await expect(page.getByTestId('endpoint-health')).toHaveText('Disabled');

  // Deleting asks first, naming the endpoint and its URL, in red.
  await page.getByText('Delete endpoint…').click();
  await expect(page.getByText(`Delete the endpoint “Front desk” (${receiver.url})?`)).toBeVisible();
  const deleteButton = page.getByRole('button', { name: 'Delete endpoint', exact: true });
  await expect(deleteButton).toHaveCSS('background-color', 'rgb(180, 35, 24)');
  await deleteButton.click();
  await expect(page).toHaveURL(new RegExp(`${appPath}/webhooks$`));
  await expect(page.getByRole('status').filter({ hasText: 'Endpoint deleted.' })).toBeFocused();
  await expect(page.getByText('No endpoints yet')).toBeVisible();
  const gone = await page.goto(endpointPath);
  expect(gone?.status()).toBe(404);
  await receiver.close();
});

test('the webhook token and the API key rotate only after a confirmation naming the app', async ({ page }) => {
  await signUp(page, uniqueEmail('rotations'));
  const name = `Rotations ${Date.now()}`;
  const { path: appPath, apiKey } = await createApp(page, name);

  await page.goto(`${appPath}/webhooks`);
  await page.getByRole('link', { name: 'Reveal webhook token' }).click();
  const token = (await page.getByTestId('webhook-token').textContent()) ?? '';
  await page.getByText('Rotate webhook token…').click();
  await expect(page.getByText(`Rotate the webhook token of “${name}”?`)).toBeVisible();
  await page.getByRole('button', { name: 'Rotate webhook token', exact: true }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Webhook token rotated' })).toBeFocused();
  await expect(page.getByTestId('webhook-token')).not.toHaveText(token);

  await page.goto(appPath);
  await expect(page.getByTestId('issued-api-key')).toHaveCount(0);
  await page.getByText('Rotate API key…').click();
  await expect(page.getByText(`Rotate the API key of “${name}”?`)).toBeVisible();
  await expectAccessible(page, 'API key rotation confirmation open');
  await page.getByRole('button', { name: 'Rotate API key', exact: true }).click();
  await expect(page.getByRole('status').filter({ hasText: 'API key rotated' })).toBeFocused();
  await expect(page.getByTestId('issued-api-key')).toHaveText(/^fhk_live_/);
  await expect(page.getByTestId('issued-api-key')).not.toHaveText(apiKey);
});

test('the payload option unlocks with the Business plan', async ({ page, browser }) => {
  await signUp(page, uniqueEmail('plans'));
  const appName = `Plans ${Date.now()}`;
  const { path: appPath } = await createApp(page, appName);
  const endpointPath = await addEndpoint(page, appPath, 'https://example.com/hook');
  const payloadToggle = page.getByLabel("Include each user's linked payload");
  await expect(payloadToggle).toBeDisabled();
  await expect(payloadToggle).toHaveAccessibleDescription('Available on the Business plan and up.');

  const operatorContext = await browser.newContext();
  const operator = await operatorContext.newPage();
  await operator.goto('/login');
  await signIn(operator, OPERATOR_EMAIL, OPERATOR_PASSWORD);
  await expect(operator).toHaveURL(/\/apps$/);
  await operator.goto('/admin');
  await operator.getByLabel(`Plan for ${appName}`).selectOption('business');
  await operator.getByRole('button', { name: `Set plan of ${appName}` }).click();
  await expect(operator.getByRole('row', { name: new RegExp(`^${appName}`) })).toContainText('Business');
  await operatorContext.close();

  await page.goto(endpointPath);
  await waitForHydration(page);
  await expect(payloadToggle).toBeEnabled();
  await payloadToggle.check();
  await page.getByRole('button', { name: 'Save endpoint' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Endpoint saved.' })).toBeVisible();
  await expect(payloadToggle).toBeChecked();
});
