import { expect, test } from '@playwright/test';
import { PASSWORD, signIn, uniqueEmail } from './helpers';

test.use({ javaScriptEnabled: false });

test('sign up, sign out and sign in with JavaScript disabled', async ({ page }) => {
  const email = uniqueEmail('nojs');
  await page.goto('/signup');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page).toHaveURL(/\/apps$/);
  await expect(page.getByRole('status')).toContainText('Welcome to Facehook');

  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/login\?signed_out=1$/);

  await signIn(page, email, 'wrong password!');
  await expect(page.getByRole('alert')).toHaveText('Email or password is incorrect.');

  await signIn(page, email);
  await expect(page).toHaveURL(/\/apps$/);
  await expect(page.getByRole('navigation', { name: 'Main' })).toContainText(email);
});

test('create an application and save an endpoint with JavaScript disabled', async ({ page }) => {
  await page.goto('/signup');
  await page.getByLabel('Email').fill(uniqueEmail('nojs-apps'));
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Create account' }).click();

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
