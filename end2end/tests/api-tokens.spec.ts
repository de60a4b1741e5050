import { Page } from '@playwright/test';
import { expect, expectAccessible, signUp, test, uniqueEmail } from './helpers';

/** Makes a token on the organization page and returns it as the page shows it, once. */
async function makeToken(page: Page, name: string, role: string): Promise<string> {
  await page.goto('/org');
  const card = page.getByRole('region', { name: /^API tokens/ });
  await card.getByLabel('Name').fill(name);
  await card.getByLabel('Role').selectOption(role);
  await card.getByLabel('Expires').selectOption('30');
  await card.getByRole('button', { name: 'Create token' }).click();
  await expect(page.getByRole('status').filter({ hasText: `Token “${name}” made` })).toBeVisible();
  const shown = page.getByTestId('issued-token').locator('code');
  await expect(shown).toHaveText(/^fht_[A-Za-z0-9]{40}$/);
  return (await shown.textContent()) ?? '';
}

test('an owner makes an API token, sees it once, uses it and revokes it, confirmed', async ({ page }) => {
  await signUp(page, uniqueEmail('tokens'));
  const card = page.getByRole('region', { name: /^API tokens/ });

  // A name is required, and the reason is on the field.
  await page.goto('/org');
  await card.getByRole('button', { name: 'Create token' }).click();
  await expect(card.getByLabel('Name')).toHaveAccessibleDescription(/Name the token/);

  const token = await makeToken(page, 'CI deploys', 'developer');
  await expectAccessible(page, 'organization page showing a new token');
  const listed = page.getByTestId('token').filter({ hasText: 'CI deploys' });
  await expect(listed).toContainText('Developer');
  await expect(listed).toContainText('Never used');

  // It works against the management API, and the page says so; the secret is not shown again.
  const apps = await page.request.get('/api/v1/applications', { headers: { Authorization: `Bearer ${token}` } });
  expect(apps.status()).toBe(200);
  await page.reload();
  await expect(page.getByTestId('issued-token')).toHaveCount(0);
  await expect(listed).toContainText(/Last used .* from 127\.0\.0\.1/);
  await expect(page.locator('body')).not.toContainText(token);

  // Revoking is red, asks first, and the token stops working at once.
  await listed.getByText('Revoke…').click();
  await expect(listed.getByText('Revoke the token “CI deploys”?')).toBeVisible();
  await expectAccessible(page, 'token revocation confirmation open');
  await expect(listed.getByRole('button', { name: 'Revoke token' })).toHaveClass(/danger/);
  await listed.getByRole('button', { name: 'Revoke token' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Token revoked' })).toBeVisible();
  await expect(page.getByTestId('token')).toHaveCount(0);
  const refused = await page.request.get('/api/v1/applications', { headers: { Authorization: `Bearer ${token}` } });
  expect(refused.status()).toBe(401);
});

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('a token is made and revoked with plain forms', async ({ page }) => {
    await signUp(page, uniqueEmail('tokens-nojs'));
    const token = await makeToken(page, 'Terraform', 'admin');
    expect(token.startsWith('fht_')).toBe(true);
    const listed = page.getByTestId('token').filter({ hasText: 'Terraform' });
    await listed.getByText('Revoke…').click();
    await listed.getByRole('button', { name: 'Revoke token' }).click();
    await expect(page.getByRole('status').filter({ hasText: 'Token revoked' })).toBeVisible();
  });
});
