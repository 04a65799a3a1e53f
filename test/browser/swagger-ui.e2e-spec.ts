import { mkdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { Browser, chromium, Page } from 'playwright-core';
import { createTestApp, registerUser, TestApp } from '../support/test-app';

// Debian's chromium (installed by .ci/run), driven by playwright-core: no browser download.
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = path.resolve(__dirname, '../artifacts');
const MODEL = readFileSync(path.join(__dirname, '../fixtures/models/skl-linreg/model.onnx'));

describe('Swagger UI at /docs in headless Chromium', () => {
  let t: TestApp;
  let browser: Browser;
  let page: Page;
  let apiKey: string;

  beforeAll(async () => {
    t = await createTestApp({ listen: true });
    const user = await registerUser(t, 'browser');
    const jwt = { Authorization: `Bearer ${user.accessToken}` };
    const upload = await t
      .http()
      .post('/api/v1/models')
      .set(jwt)
      .field('name', 'swagger-listed')
      .attach('file', MODEL, 'model.onnx');
    expect(upload.status).toBe(201);
    const key = await t.http().post('/api/v1/api-keys').set(jwt).send({ name: 'swagger ui' });
    expect(key.status).toBe(201);
    apiKey = (key.body as { key: string }).key;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
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
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 1400 } });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('offers both security schemes, authorizes with an API key, runs "list models" and renders the 200', async () => {
    await page.goto(`${t.baseUrl}/docs`);
    await page.locator('.swagger-ui .information-container').waitFor({ timeout: 30_000 });
    expect(await page.locator('.swagger-ui .title').first().innerText()).toContain('Modelport API');

    await page.locator('.swagger-ui button.authorize').first().click();
    const modal = page.locator('.modal-ux');
    await modal.waitFor();
    const schemes = modal.locator('.auth-container');
    await expect(schemes.count()).resolves.toBe(2);
    const modalText = await modal.innerText();
    expect(modalText).toContain('bearer');
    expect(modalText).toContain('X-API-Key');

    const apiKeyScheme = schemes.filter({ hasText: 'X-API-Key' });
    await apiKeyScheme.locator('input').fill(apiKey);
    await apiKeyScheme.locator('button.authorize').click();
    // Once authorized, the scheme says so and offers "Logout" instead of "Authorize".
    await apiKeyScheme.locator('h6', { hasText: 'Authorized' }).waitFor();
    await apiKeyScheme.locator('button[aria-label="Remove authorization"]').waitFor();
    await apiKeyScheme.locator('button.btn-done').click();
    await modal.waitFor({ state: 'detached' });

    const operation = page.locator('#operations-models-listModels');
    await operation.locator('.opblock-summary').first().click();
    await operation.locator('button.try-out__btn').click();
    await operation.locator('button.execute').click();
    const status = operation.locator('.live-responses-table tr.response .response-col_status');
    await status.first().waitFor({ timeout: 30_000 });
    expect((await status.first().innerText()).trim()).toBe('200');
    const body = await operation
      .locator('.live-responses-table tr.response .response-col_description pre')
      .first()
      .innerText();
    expect(body).toContain('swagger-listed');
    // The request Swagger UI made carried the key.
    expect(await operation.locator('.curl-command').innerText()).toContain(`X-API-Key: ${apiKey}`);

    mkdirSync(ARTIFACTS, { recursive: true });
    const screenshot = path.join(ARTIFACTS, 'swagger-ui-list-models.png');
    await operation.scrollIntoViewIfNeeded();
    await operation.screenshot({ path: screenshot });
    expect(statSync(screenshot).size).toBeGreaterThan(10_000);
  }, 120_000);

  it('persists the authorization across a reload (persistAuthorization)', async () => {
    await page.reload();
    await page.locator('.swagger-ui .information-container').waitFor({ timeout: 30_000 });
    // A string, evaluated in the page (this project's TypeScript has no DOM lib).
    const stored = await page.evaluate<string | null>("window.localStorage.getItem('authorized')");
    expect(JSON.parse(stored ?? '{}')).toEqual(
      expect.objectContaining({ apiKey: expect.objectContaining({ value: apiKey }) }),
    );
    // The padlock of a secured operation shows it as locked (authorized).
    const padlock = page.locator('#operations-models-listModels button.authorization__btn').first();
    expect(await padlock.getAttribute('aria-label')).toBe('authorization button locked');
  }, 60_000);
});
