import { createHmac } from 'node:crypto';
import { expect, openNavigation, PASSWORD, signIn, signUp, test, uniqueEmail } from './helpers';

/** RFC 4648 base32 to bytes (authenticator secrets are shown in it). */
function base32(text: string): Buffer {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const char of text.replace(/[\s=]/g, '').toUpperCase()) {
    bits += alphabet.indexOf(char).toString(2).padStart(5, '0');
  }
  const bytes = bits.match(/.{8}/g) ?? [];
  return Buffer.from(bytes.map((byte) => parseInt(byte, 2)));
}

/** The RFC 6238 code (SHA-1, 6 digits, 30 s) an authenticator app shows, `steps` from now. */
function totp(secret: string, steps = 0): string {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 1000 / 30) + steps));
  const mac = createHmac('sha1', base32(secret)).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const value = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return value.toString().padStart(6, '0');
}

test('two-factor: enrol with a code computed from the secret, sign out, sign in with a code', async ({ page }) => {
  const email = uniqueEmail('twofactor');
  await signUp(page, email);
  await page.goto('/account');
  await expect(page.getByRole('heading', { name: 'Two-factor sign-in' })).toBeVisible();
  await page.getByRole('link', { name: 'Set up two-factor sign-in' }).click();
  await expect(page).toHaveURL(/\/account\/two-factor$/);
  await page.getByRole('button', { name: 'Set up two-factor sign-in' }).click();

  await expect(page.getByRole('img', { name: 'QR code holding your two-factor secret' })).toBeVisible();
  const secret = await page.getByTestId('totp-secret').getAttribute('data-secret');
  expect(secret).toMatch(/^[A-Z2-7]{32}$/);
  await page.getByRole('textbox', { name: 'Code' }).fill('000000');
  await page.getByLabel('Your password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Turn on two-factor sign-in' }).click();
  await expect(page.getByRole('textbox', { name: 'Code' })).toHaveAttribute('aria-invalid', 'true');
  await page.getByRole('textbox', { name: 'Code' }).fill(totp(secret!));
  await page.getByLabel('Your password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Turn on two-factor sign-in' }).click();
  await expect(page.locator('p.flash')).toContainText('Two-factor sign-in is on');
  await expect(page.getByTestId('recovery-codes').locator('li')).toHaveCount(10);
  const firstRecoveryCode = (await page.getByTestId('recovery-codes').locator('li').first().innerText()).trim();
  expect(firstRecoveryCode).toMatch(/^[a-z2-9]{5}-[a-z2-9]{5}$/);
  await expect(page.getByTestId('codes-left')).toHaveText('10 of 10 recovery codes left.');

  // Shown once: the next visit lists how many are left, not the codes.
  await page.reload();
  await expect(page.getByTestId('recovery-codes')).toHaveCount(0);

  await openNavigation(page);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/login/);
  await signIn(page, email, PASSWORD);
  await expect(page).toHaveURL(/\/login\/code$/);
  await page.getByRole('textbox', { name: 'Code' }).fill('123456');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('textbox', { name: 'Code' })).toHaveAttribute('aria-invalid', 'true');
  await expect(page.locator('#code-error')).toContainText('not right');
  // The enrolment's code was spent on its step; the next step's code is what the app shows soon.
  await page.getByRole('textbox', { name: 'Code' }).fill(totp(secret!, 1));
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/apps$/);

  // A recovery code works once, in place of the app.
  await openNavigation(page);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await signIn(page, email, PASSWORD);
  await page.getByRole('textbox', { name: 'Code' }).fill(firstRecoveryCode);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/apps$/);
  await expect(page.locator('p.flash')).toContainText('recovery code');
});

test('sessions: sign another session out and see it signed out', async ({ page, browser }) => {
  const email = uniqueEmail('sessions');
  await signUp(page, email);

  const otherContext = await browser.newContext();
  const other = await otherContext.newPage();
  await other.goto('/login');
  await signIn(other, email, PASSWORD);
  await expect(other).toHaveURL(/\/apps$/);

  await page.goto('/account');
  const sessions = page.getByTestId('session');
  await expect(sessions).toHaveCount(2);
  const thisOne = page.locator('.badge', { hasText: 'This session' });
  await expect(sessions.filter({ has: thisOne })).toHaveCount(1);
  const another = sessions.filter({ hasNot: thisOne });
  await expect(another).toContainText('127.0.0.1');
  await another.getByText('Sign out…').click();
  await another.getByRole('button', { name: 'Sign out this session' }).click();
  await expect(page.locator('p.flash')).toContainText('Session signed out.');
  await expect(page.getByTestId('session')).toHaveCount(1);

  await other.goto('/apps');
  await expect(other).toHaveURL(/\/login\?next=/);
  await otherContext.close();
});
