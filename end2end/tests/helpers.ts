import AxeBuilder from '@axe-core/playwright';
import { expect, Page, test as base } from '@playwright/test';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { MAILDIR } from '../playwright.config';
import { AddressInfo } from 'node:net';

export const PASSWORD = 'correct horse battery';

/**
 * Every test's `page` is checked with axe on every page it loads (each action is a full page
 * load: forms post, redirect and get), and any violation fails the test. States reached
 * without a load (an opened confirmation) are checked with `expectAccessible`.
 */
export const test = base.extend({
  page: async ({ page, javaScriptEnabled }, use) => {
    const violations: string[] = [];
    const scans: Promise<void>[] = [];
    // axe runs as a script in the page: with scripts off, the same pages are checked by the
    // suite's other tests instead.
    if (javaScriptEnabled !== false) page.on('load', () => scans.push(scan(page, violations)));
    await use(page);
    await Promise.all(scans);
    expect(violations, 'accessibility violations (axe)').toEqual([]);
  },
});
export { expect };

async function scan(page: Page, violations: string[]): Promise<void> {
  try {
    const url = page.url();
    const result = await Promise.race([
      new AxeBuilder({ page }).analyze(),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('axe timed out')), 10_000)),
    ]);
    for (const violation of result.violations) {
      const where = violation.nodes.map((node) => node.target.join(' ')).slice(0, 3).join(', ');
      violations.push(`${new URL(url).pathname}: ${violation.id} (${violation.help}) at ${where}`);
    }
  } catch {
    // The test moved on to the next page while this one was being checked: that page's own
    // load event scans it.
  }
}

/** Runs axe on the page as it is now; any violation fails the test. */
export async function expectAccessible(page: Page, state: string): Promise<void> {
  const result = await new AxeBuilder({ page }).analyze();
  const found = result.violations.map(
    (v) => `${v.id} (${v.help}) at ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')}`,
  );
  expect(found, `axe on ${state}`).toEqual([]);
}

/** A fresh email per test: every test shares one server and database. */
export function uniqueEmail(label: string): string {
  return `${label}-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.com`;
}

/** Waits until the wasm bundle has taken over the server-rendered page. */
export async function waitForHydration(page: Page): Promise<void> {
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
}

/** Creates an account, then signs in: sign-up starts no session (it answers alike for a taken email). */
export async function signUp(page: Page, email: string, password = PASSWORD): Promise<void> {
  await page.goto('/signup');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page).toHaveURL(/\/login$/);
  await expect(page.getByRole('status')).toContainText('Your account is ready. Sign in to continue.');
  await signIn(page, email, password);
  await expect(page).toHaveURL(/\/apps$/);
}

export async function signIn(page: Page, email: string, password = PASSWORD): Promise<void> {
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** The main navigation's links: on a phone they sit in the "Menu", opened first. */
export async function openNavigation(page: Page): Promise<void> {
  const menu = page.locator('details.nav-menu');
  if (await menu.isVisible()) {
    if ((await menu.getAttribute('open')) === null) {
      await menu.locator(':scope > summary').click();
    }
  }
}

/** Creates an application from the Application Manager; returns its page's path and API key. */
export async function createApp(page: Page, name: string): Promise<{ path: string; apiKey: string }> {
  await page.getByLabel('Application name').fill(name);
  await page.getByRole('button', { name: 'Create application' }).click();
  await expect(page).toHaveURL(/\/apps\/fio[a-z0-9]{8}$/);
  const apiKey = (await page.getByTestId('issued-api-key').textContent()) ?? '';
  expect(apiKey).toMatch(/^fhk_live_/);
  return { path: new URL(page.url()).pathname, apiKey };
}

/** Adds an endpoint on the WEBHOOKS tab; lands on its own page. Returns that page's path. */
export async function addEndpoint(page: Page, appPath: string, url: string, description = ''): Promise<string> {
  await page.goto(`${appPath}/webhooks`);
  const addForm = page.getByRole('region', { name: 'Add an endpoint' });
  await addForm.getByLabel('Endpoint URL').fill(url);
  if (description) await addForm.getByLabel('Description').fill(description);
  await addForm.getByRole('button', { name: 'Add endpoint' }).click();
  await expect(page).toHaveURL(/\/webhooks\/ep_[A-Za-z0-9_-]+$/);
  await expect(page.getByRole('status').filter({ hasText: 'Endpoint added.' })).toBeFocused();
  return new URL(page.url()).pathname;
}

/** A loopback webhook receiver that answers 200 and keeps each request's raw bytes and headers. */
export class Receiver {
  server: http.Server;
  port = 0;
  requests: { body: Buffer; headers: http.IncomingHttpHeaders }[] = [];

  constructor() {
    this.server = this.create();
  }

  private create(): http.Server {
    return http.createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        this.requests.push({ body: Buffer.concat(chunks), headers: request.headers });
        response.writeHead(200, { 'content-type': 'text/plain' });
        response.end('received');
      });
    });
  }

  get bodies(): string[] {
    return this.requests.map((r) => r.body.toString('utf8'));
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(this.port, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  /** Stops listening; `listen` again reopens the same port. */
  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server = this.create();
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/hook`;
  }
}

/** Clicks where `locator` is drawn, as a person would: whatever is on top there gets it. */
export async function clickWhere(page: Page, locator: import('@playwright/test').Locator): Promise<void> {
  const before = page.url();
  // A live region may be redrawn under the pointer: try again until the click lands.
  await expect(async () => {
    await locator.scrollIntoViewIfNeeded({ timeout: 1_000 });
    const box = await locator.boundingBox();
    if (!box) throw new Error('not on screen');
    await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
    await expect(page).not.toHaveURL(before, { timeout: 1_000 });
  }).toPass({ timeout: 10_000 });
}

/** A received body with its `details.timestamp` (the event's own moment) set to `timestamp`. */
export function withTimestamp(raw: string, timestamp: string): string {
  const actual = JSON.parse(raw).details.timestamp as string;
  return raw.replace(actual, timestamp);
}

/** A mail's text with quoted-printable undone (soft breaks joined, `=3D` back to `=`). */
function decoded(raw: string): string {
  return raw.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, hex) => String.fromCharCode(parseInt(hex, 16)));
}

/** The newest mail to `to` with this subject that the SMTP server took, as text. */
export function mailTo(to: string, subject: string): string | undefined {
  const dir = path.join(MAILDIR, 'new');
  if (!fs.existsSync(dir)) return undefined;
  return fs
    .readdirSync(dir)
    .map((name) => decoded(fs.readFileSync(path.join(dir, name), 'utf8')))
    .filter((mail) => mail.includes(`To: ${to}`) && mail.includes(`Subject: ${subject}`))
    .pop();
}
