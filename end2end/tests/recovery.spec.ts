import { expect, mailTo, signIn, signUp, test, uniqueEmail } from './helpers';

test('forgot password: the mailed link sets a new password, then sign in with it', async ({ page }) => {
  const email = uniqueEmail('forgot');
  await signUp(page, email);
  await page.context().clearCookies();

  await page.goto('/login');
  await page.getByRole('link', { name: 'Forgot password?' }).click();
  await expect(page).toHaveURL(/\/forgot-password$/);
  await page.getByLabel('Email').fill(email);
  await page.getByRole('button', { name: 'Send reset link' }).click();
  await expect(page).toHaveURL(/\/forgot-password$/);
  await expect(page.getByRole('status')).toContainText('If an account uses that email');

  let mail: string | undefined;
  await expect.poll(() => (mail = mailTo(email, 'Reset your Facehook password')), { timeout: 15_000 }).toBeTruthy();
  const link = /http:\/\/127\.0\.0\.1:\d+\/reset-password\?token=fhr_[A-Za-z0-9]+/.exec(mail ?? '')?.[0];
  expect(link).toBeTruthy();

  await page.goto(link!);
  await page.getByLabel('New password', { exact: true }).fill('short');
  await page.getByLabel('Repeat the new password').fill('short');
  await page.getByRole('button', { name: 'Set new password' }).click();
  // A clean address that keeps the link, the reason on the field.
  await expect(page).toHaveURL(/\/reset-password\?token=fhr_/);
  await expect(page.getByLabel('New password', { exact: true })).toHaveAttribute('aria-invalid', 'true');

  await page.getByLabel('New password', { exact: true }).fill('a fresh passphrase');
  await page.getByLabel('Repeat the new password').fill('a fresh passphrase');
  await page.getByRole('button', { name: 'Set new password' }).click();
  await expect(page).toHaveURL(/\/login$/);
  await expect(page.getByRole('status')).toContainText('Password changed');
  await signIn(page, email, 'a fresh passphrase');
  await expect(page).toHaveURL(/\/apps$/);

  // The link worked once.
  await page.context().clearCookies();
  await page.goto(link!);
  await expect(page.getByRole('alert')).toContainText('expired or was already used');
});
