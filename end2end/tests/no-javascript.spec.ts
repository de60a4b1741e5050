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
