import { expect, openNavigation, PASSWORD, signIn, signUp, test, uniqueEmail, waitForHydration } from './helpers';

test('sign up, sign out, sign in, wrong password, guard, change password', async ({ page }) => {
  const email = uniqueEmail('owner');
  await signUp(page, email);
  await expect(page.getByRole('heading', { name: 'Application Manager' })).toBeVisible();
  await openNavigation(page);
  await expect(page.getByRole('navigation', { name: 'Main' })).toContainText(email);

  await openNavigation(page);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/login\?signed_out=1$/);
  await expect(page.getByRole('status')).toHaveText('You have signed out.');

  await signIn(page, email, 'definitely wrong');
  await expect(page.getByRole('alert')).toHaveText('Email or password is incorrect.');
  await expect(page).toHaveURL(/\/login/);

  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/apps$/);

  // Signed out, a console page sends you to sign in and back again.
  await openNavigation(page);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/login/);
  await page.goto('/account');
  await expect(page).toHaveURL(/\/login\?next=%2Faccount$/);
  await waitForHydration(page);
  await signIn(page, email);
  await expect(page).toHaveURL(/\/account$/);
  await expect(page.getByRole('heading', { name: 'Account', exact: true })).toBeVisible();

  // Change password: a wrong current password is tied to its field, then it succeeds.
  const newPassword = 'a brand new passphrase';
  await page.getByLabel('Current password').fill('not my password');
  await page.getByLabel('New password', { exact: true }).fill(newPassword);
  await page.getByLabel('Repeat new password').fill(newPassword);
  await page.getByRole('button', { name: 'Change password' }).click();
  const current = page.getByLabel('Current password');
  await expect(current).toHaveAttribute('aria-invalid', 'true');
  await expect(current).toHaveAccessibleDescription('Current password is incorrect.');

  await current.fill(PASSWORD);
  await page.getByLabel('New password', { exact: true }).fill(newPassword);
  await page.getByLabel('Repeat new password').fill(newPassword);
  await page.getByRole('button', { name: 'Change password' }).click();
  await expect(page.getByRole('status')).toHaveText('Password changed.');

  await openNavigation(page);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/login/);
  await signIn(page, email, newPassword);
  await expect(page).toHaveURL(/\/apps$/);
});

test('sign-up errors are shown next to their field', async ({ page }) => {
  await page.goto('/signup');
  await waitForHydration(page);
  await page.getByLabel('Email').fill('not-an-email');
  await page.getByLabel('Password').fill('short');
  await page.getByRole('button', { name: 'Create account' }).click();
  const emailInput = page.getByLabel('Email');
  await expect(emailInput).toHaveAttribute('aria-invalid', 'true');
  await expect(emailInput).toHaveAccessibleDescription(/needs an @/);
});

test('unknown pages answer 404 with a way back', async ({ page }) => {
  const response = await page.goto('/no-such-page');
  expect(response?.status()).toBe(404);
  await expect(page.getByRole('heading', { name: 'Page not found' })).toBeVisible();
  await expect(page.getByRole('link', { name: 'Back to your applications' })).toBeVisible();
});
