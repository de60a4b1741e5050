import { addEndpoint, createApp, expect, Receiver, signUp, test, uniqueEmail, withTimestamp } from './helpers';

test('the event catalog shows each body as receivers get it, and its Node.js code verifies one', async ({
  page,
  request,
}) => {
  const receiver = new Receiver();
  await receiver.listen();
  await signUp(page, uniqueEmail('catalog'));
  const { path: appPath, apiKey } = await createApp(page, `Catalog ${Date.now()}`);
  const endpointPath = await addEndpoint(page, appPath, receiver.url);
  await page.getByRole('link', { name: 'Reveal signing secret' }).click();
  const secret = (await page.getByTestId('current-secret').textContent()) ?? '';
  await page.goto(`${appPath}/webhooks?reveal=token`);
  const token = (await page.getByTestId('webhook-token').textContent()) ?? '';

  await page.getByRole('link', { name: 'Event catalog' }).click();
  await expect(page).toHaveURL(new RegExp(`${appPath}/events$`));
  for (const name of ['enroll', 'auth', 'deletion', 'payload_update', 'pincode_update', 'test']) {
    await expect(page.locator(`section[data-event="${name}"]`)).toBeVisible();
  }
  const example = (await page.locator('section[data-event="enroll"]').getByTestId('example-body').textContent()) ?? '';
  const fields = JSON.parse(example);
  // The Free plan sends no payload, and the example says so by leaving it out.
  expect(fields.payload).toBeUndefined();

  // An enroll sent with the example's values arrives as the example's bytes.
  const sent = await request.post('/api/v1/events', {
    headers: { Authorization: `Bearer ${apiKey}` },
    data: {
      eventName: 'enroll',
      facialId: fields.facialId,
      clientIp: fields.clientIp,
      details: { gender: fields.details.gender, age: fields.details.age },
    },
  });
  expect(sent.status()).toBe(202);
  await expect.poll(() => receiver.requests.length).toBe(1);
  const got = receiver.requests[0];
  expect(withTimestamp(got.body.toString('utf8'), fields.details.timestamp)).toBe(example);

  // The page's Node.js snippet, run as shown, accepts that request and refuses a tampered one.
  await page.getByText('Node.js', { exact: true }).click();
  const code = (await page.locator('details.snippet-block[open] pre').textContent()) ?? '';
  const verify = new Function('require', `${code}\nreturn verify;`)(require);
  expect(verify(got.headers, got.body, secret, token)).toBe(true);
  expect(verify(got.headers, Buffer.concat([got.body, Buffer.from(' ')]), secret, token)).toBe(false);
  expect(verify(got.headers, got.body, secret, 'fhw_wrong')).toBe(false);
  await page.goto(endpointPath);
  await receiver.close();
});
