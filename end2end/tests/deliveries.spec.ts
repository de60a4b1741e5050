import { expect, test } from '@playwright/test';
import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import { signUp, uniqueEmail, waitForHydration } from './helpers';

/** A loopback receiver that answers 200; `close` and `reopen` keep its port. */
class Receiver {
  server: http.Server;
  port = 0;
  bodies: string[] = [];
  webhookIds: string[] = [];

  constructor() {
    this.server = this.create();
  }

  private create(): http.Server {
    return http.createServer((request, response) => {
      let body = '';
      request.on('data', (chunk) => (body += chunk));
      request.on('end', () => {
        this.bodies.push(body);
        this.webhookIds.push(String(request.headers['webhook-id']));
        response.writeHead(200, { 'content-type': 'text/plain' });
        response.end('received');
      });
    });
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(this.port, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server = this.create();
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/hook`;
  }
}

test('deliveries: test events, the list, the chart, the live feed and redelivery', async ({ page, request }) => {
  const receiver = new Receiver();
  await receiver.listen();
  await signUp(page, uniqueEmail('deliveries'));
  await page.getByLabel('Application name').fill(`Deliveries ${Date.now()}`);
  await page.getByRole('button', { name: 'Create application' }).click();
  const apiKey = (await page.getByTestId('issued-api-key').textContent()) ?? '';
  expect(apiKey).toMatch(/^fhk_live_/);
  const appUrl = page.url();

  // A test event that arrives, then one that cannot.
  await page.getByRole('link', { name: 'WEBHOOKS' }).click();
  await waitForHydration(page);
  const addForm = page.getByRole('region', { name: 'Add an endpoint' });
  await addForm.getByLabel('Endpoint URL').fill(receiver.url);
  await addForm.getByRole('button', { name: 'Add endpoint' }).click();
  const endpoint = page.getByRole('article', { name: `Endpoint ${receiver.url}` });
  await endpoint.getByRole('button', { name: 'Send test event' }).click();
  await expect(endpoint.getByTestId('test-result')).toContainText('Delivered: HTTP 200');
  await receiver.close();
  await endpoint.getByRole('button', { name: 'Send test event' }).click();
  await expect(endpoint.getByTestId('test-result')).toContainText(/Failed \(connect\)/);

  // The Deliveries tab shows both, and the chart.
  await page.goto(`${appUrl}/deliveries`);
  await waitForHydration(page);
  const rows = page.getByTestId('deliveries').locator('tbody tr');
  await expect(rows).toHaveCount(2);
  await expect(rows.nth(0)).toHaveAttribute('data-status', 'failed');
  await expect(rows.nth(0)).toContainText('connect');
  await expect(rows.nth(1)).toHaveAttribute('data-status', 'delivered');
  await expect(rows.nth(1)).toContainText('200');
  const chart = page.getByTestId('delivery-chart');
  await expect(chart.locator('svg')).toBeVisible();
  await expect(chart.locator('g.hour')).toHaveCount(24);

  // The live feed: an event sent through the API appears without a reload.
  await expect(page.getByTestId('live-status')).toContainText('Live');
  const sent = await request.post('/api/v1/events', {
    headers: { Authorization: `Bearer ${apiKey}` },
    data: { eventName: 'enroll', facialId: `live-${Date.now()}`, clientIp: '203.0.113.7' },
  });
  expect(sent.status()).toBe(202);
  await expect(rows).toHaveCount(3);
  const enrollRow = rows.filter({ hasText: 'enroll' });
  // The receiver is down: the first attempt fails and the next waits for the schedule.
  await expect(enrollRow).toHaveAttribute('data-status', 'retrying');

  // Filters live in the URL.
  await page.getByLabel('Status').selectOption('retrying');
  await page.getByRole('button', { name: 'Filter' }).click();
  await expect(page).toHaveURL(/status=retrying/);
  await expect(rows).toHaveCount(1);

  // Back up, the receiver gets the delivery again on "Redeliver now", with the same id.
  await receiver.listen();
  await rows.first().getByRole('link', { name: 'enroll' }).click();
  await expect(page).toHaveURL(/\/deliveries\/del_/);
  await waitForHydration(page);
  const webhookId = (await page.getByTestId('webhook-id').textContent()) ?? '';
  await expect(page.getByTestId('request-headers')).toContainText('Bearer ••••••••');
  await expect(page.getByTestId('attempt')).toHaveCount(1);
  await page.getByRole('button', { name: 'Redeliver now' }).click();
  await expect(page.getByTestId('delivery-status')).toHaveText('Delivered');
  await expect(page.getByTestId('attempt')).toHaveCount(2);
  expect(receiver.bodies.length).toBe(2);
  expect(JSON.parse(receiver.bodies[1]).eventName).toBe('enroll');
  expect(webhookId).toMatch(/^evt_/);
  expect(receiver.webhookIds[1]).toBe(webhookId);
  await receiver.close();
});
