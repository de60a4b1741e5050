import { expect, signUp, test, uniqueEmail } from './helpers';
test('shot', async ({ page }, info) => {
  const seen: string[] = [];
  page.on('request', (r) => { if (!r.url().includes('/pkg/')) seen.push(`${r.method()} ${new URL(r.url()).pathname}`); });
  await signUp(page, uniqueEmail('shot'));
  await page.goto('/org');
  seen.length = 0;
  const card = page.getByRole('region', { name: /^API tokens/ });
  await card.getByLabel('Name').fill('CI deploys');
  await card.getByRole('button', { name: 'Create token' }).click();
  try {
    await expect(page.getByTestId('issued-token')).toBeVisible();
  } finally { console.log(seen.join('\n')); }
  await card.scrollIntoViewIfNeeded();
  await card.screenshot({ path: `/tmp/tokens-${info.project.name}.png` });
});
