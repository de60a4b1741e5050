import { expect, test } from '@playwright/test';
import { OPERATOR_EMAIL, OPERATOR_PASSWORD } from '../playwright.config';
import { signIn, signUp, uniqueEmail, waitForHydration } from './helpers';

test('create an app, save endpoints, unlock payloads with a plan change, rotate the secret', async ({ page, browser }) => {
  await signUp(page, uniqueEmail('webhooks'));
  const appName = `Door kiosk ${Date.now()}`;
  await page.getByLabel('Application name').fill(appName);
  await page.getByRole('button', { name: 'Create application' }).click();

  await expect(page).toHaveURL(/\/apps\/fio[a-z0-9]{8}$/);
  await expect(page.getByRole('heading', { name: appName })).toBeVisible();
  await expect(page.getByTestId('issued-api-key')).toHaveText(/^fhk_live_/);
  const appUrl = page.url();

  await page.getByRole('link', { name: 'WEBHOOKS' }).click();
  await expect(page).toHaveURL(/\/webhooks$/);
  const addForm = page.getByRole('region', { name: 'Add an endpoint' });

  await addForm.getByLabel('Endpoint URL').fill('ftp://example.com/hook');
  await addForm.getByRole('button', { name: 'Add endpoint' }).click();
  const urlInput = addForm.getByLabel('Endpoint URL');
  await expect(urlInput).toHaveAttribute('aria-invalid', 'true');
  await expect(urlInput).toHaveAccessibleDescription(/Only http and https URLs are accepted/);

  await urlInput.fill('https://example.com/hook');
  await addForm.getByLabel('Description').fill('Front desk');
  await addForm.getByRole('button', { name: 'Add endpoint' }).click();
  const endpoint = page.getByRole('article', { name: 'Endpoint https://example.com/hook' });
  await expect(endpoint).toBeVisible();
  await expect(endpoint.getByLabel('Endpoint URL')).toHaveValue('https://example.com/hook');

  const payloadToggle = endpoint.getByLabel("Include each user's linked payload");
  await expect(payloadToggle).toBeDisabled();
  await expect(payloadToggle).toHaveAccessibleDescription('Available on the Business plan and up.');

  // The operator moves the application to the Business plan.
  const operatorContext = await browser.newContext();
  const operator = await operatorContext.newPage();
  await operator.goto('/login');
  await waitForHydration(operator);
  await signIn(operator, OPERATOR_EMAIL, OPERATOR_PASSWORD);
  await expect(operator).toHaveURL(/\/apps$/);
  await operator.getByRole('link', { name: 'Operator' }).click();
  await operator.getByLabel(`Plan for ${appName}`).selectOption('business');
  await operator.getByRole('button', { name: `Set plan of ${appName}` }).click();
  await expect(operator.getByRole('row', { name: new RegExp(appName) })).toContainText('Business');
  await operatorContext.close();

  await page.reload();
  await waitForHydration(page);
  await expect(payloadToggle).toBeEnabled();
  await payloadToggle.check();
  await endpoint.getByRole('button', { name: 'Save endpoint' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Endpoint saved.' })).toBeVisible();
  await page.reload();
  await expect(payloadToggle).toBeChecked();

  // Rotating keeps the previous secret valid for a day, and both are shown.
  await waitForHydration(page);
  await endpoint.getByRole('link', { name: 'Reveal signing secret' }).click();
  const current = endpoint.getByTestId('current-secret');
  await expect(current).toHaveText(/^whsec_/);
  const original = await current.textContent();
  await endpoint.getByRole('button', { name: 'Rotate signing secret' }).click();
  await expect(endpoint.getByTestId('previous-secret')).toHaveText(original ?? '');
  await expect(current).not.toHaveText(original ?? '');
  await expect(endpoint.getByTestId('previous-expiry')).toContainText(/valid until \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC/);

  await page.goto(appUrl);
  await expect(page.getByTestId('issued-api-key')).toHaveCount(0);
});
