import { expect, test } from '@playwright/test';
import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import { signUp, uniqueEmail, waitForHydration } from './helpers';

/** A webhook receiver on loopback that answers 200 and remembers what it got. */
async function startReceiver(): Promise<{ server: http.Server; url: string; bodies: string[] }> {
  const bodies: string[] = [];
  const server = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      bodies.push(body);
      response.writeHead(200, { 'content-type': 'text/plain' });
      response.end('received');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://127.0.0.1:${port}/hook`, bodies };
}

test('send a test event: success inline, then the failure once the receiver is gone', async ({ page }) => {
  const receiver = await startReceiver();
  await signUp(page, uniqueEmail('test-event'));
  await page.getByLabel('Application name').fill(`Test events ${Date.now()}`);
  await page.getByRole('button', { name: 'Create application' }).click();
  await expect(page).toHaveURL(/\/apps\/fio[a-z0-9]{8}$/);
  await page.getByRole('link', { name: 'WEBHOOKS' }).click();
  await waitForHydration(page);

  const addForm = page.getByRole('region', { name: 'Add an endpoint' });
  await addForm.getByLabel('Endpoint URL').fill(receiver.url);
  await addForm.getByRole('button', { name: 'Add endpoint' }).click();
  const endpoint = page.getByRole('article', { name: `Endpoint ${receiver.url}` });
  await expect(endpoint).toBeVisible();

  await endpoint.getByRole('button', { name: 'Send test event' }).click();
  const result = endpoint.getByTestId('test-result');
  await expect(result).toContainText(/Delivered: HTTP 200 over HTTP\/1\.1 in \d+ ms/);
  await expect(result).toContainText('received');
  expect(JSON.parse(receiver.bodies[0]).eventName).toBe('test');

  await new Promise<void>((resolve) => receiver.server.close(() => resolve()));
  await endpoint.getByRole('button', { name: 'Send test event' }).click();
  await expect(result).toContainText(/Failed \(connect\) after \d+ ms/);
  expect(receiver.bodies).toHaveLength(1);
});
