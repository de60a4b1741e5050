import { defineConfig } from '@playwright/test';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

// The suite drives Debian's chromium against the release binary on a fresh SQLite database.
const port = Number(process.env.FACEHOOK_E2E_PORT ?? 3107);
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'facehook-e2e-'));
// Mail goes to a real SMTP server (aiosmtpd) that writes each message into this Maildir. Set
// once in the main process, so the test workers (which load this file again) read the same one.
process.env.FACEHOOK_E2E_MAILDIR ??= path.join(dataDir, 'mail');
export const MAILDIR = process.env.FACEHOOK_E2E_MAILDIR;
const smtpPort = Number(process.env.FACEHOOK_E2E_SMTP_PORT ?? 3125);
export const OPERATOR_EMAIL = 'operator@example.com';
export const OPERATOR_PASSWORD = 'operator passphrase';

export default defineConfig({
  testDir: './tests',
  // Generous: CI shares two cores with chromium, and a busy host steals a third of them
  // (measured 33 % steal on 2026-12-02), which tripled the suite's time.
  timeout: 90_000,
  expect: { timeout: 15_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [['list']],
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    browserName: 'chromium',
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: process.env.FACEHOOK_CHROMIUM ?? '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
  // Every flow at a phone's size and a laptop's. The page-weight report and the width sweep
  // (which sets its own sizes, 360 to 1440 px) run once.
  projects: [
    {
      name: 'phone',
      use: { viewport: { width: 390, height: 844 }, isMobile: false, hasTouch: false },
      testIgnore: [/size\.spec\.ts/, /layout\.spec\.ts/],
    },
    { name: 'desktop', use: { viewport: { width: 1366, height: 900 } } },
  ],
  webServer: [
  {
    command: `../target/py/bin/python -m aiosmtpd -n -l 127.0.0.1:${smtpPort} -c aiosmtpd.handlers.Mailbox ${MAILDIR}`,
    port: smtpPort,
    reuseExistingServer: false,
    timeout: 30_000,
  },
  {
    // The operator account exists before the first test, as `make run` users create it.
    command:
      `bash -c 'echo "${OPERATOR_PASSWORD}" | ../target/release/facehook create-account ` +
      `--email ${OPERATOR_EMAIL} --operator && exec ../target/release/facehook serve'`,
    url: `http://127.0.0.1:${port}/readyz`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: 'pipe',
    env: {
      DATABASE_URL: `sqlite://${path.join(dataDir, 'e2e.db')}`,
      FACEHOOK_LISTEN: `127.0.0.1:${port}`,
      FACEHOOK_SITE_DIR: path.resolve(__dirname, '../target/site'),
      FACEHOOK_LOG_FORMAT: 'json',
      // Test receivers listen on loopback, which endpoints may not target by default.
      FACEHOOK_ALLOW_TARGETS: '127.0.0.0/8',
      // A failed delivery waits ten minutes for its retry, so "Redeliver now" is what sends it.
      FACEHOOK_RETRY_SCHEDULE: '0s,10m',
      // Every test signs up from loopback.
      FACEHOOK_SIGNUPS_PER_IP_HOUR: '1000',
      FACEHOOK_SMTP_URL: `smtp://127.0.0.1:${smtpPort}?tls=off`,
      FACEHOOK_MAIL_FROM: 'Facehook <facehook@example.com>',
      // With mail on, confirmed emails would be required before creating applications; the
      // flows here create applications right after signing up (the requirement has its own
      // integration tests).
      FACEHOOK_REQUIRE_VERIFIED_EMAIL: 'false',
      // Alerts are checked twice a second, so the bell's live count shows up promptly.
      FACEHOOK_ALERT_CHECK_MS: '500',
    },
  },
  ],
});
