import { mkdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { PASSWORD } from './server';

/** Debian's Chromium (`apt-get install -y chromium`), driven headless by playwright-core. */
export const CHROMIUM_PATH = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** UI waits on a 2-core machine shared with a server and two browsers: generous, but never sleeps. */
export const UI_TIMEOUT_MS = 20_000;

/** The tracked screenshots of README.md and docs/browser-client.md. */
export const DOCS_SCREENSHOT_DIR = path.resolve(__dirname, '..', '..', 'docs', 'screenshots');

/**
 * Where screenshots go: the tracked ones are rewritten only on request
 * (`UPDATE_SCREENSHOTS=1`), so a test run leaves the working tree as it was.
 * Otherwise they are still taken (the page must render) into a temp dir.
 */
export const SCREENSHOT_DIR = process.env['UPDATE_SCREENSHOTS'] === '1' ? DOCS_SCREENSHOT_DIR : path.join(os.tmpdir(), 'tix-screenshots');

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
}

export interface BuyerOptions {
  viewport?: { width: number; height: number };
  /** The browser's language (navigator.language): the page picks Korean for ko-KR. Default en-US. */
  locale?: string;
}

/** axe-core's own build, injected into the page under test (the server never serves it). */
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

export interface AxeViolation {
  id: string;
  impact: 'minor' | 'moderate' | 'serious' | 'critical' | null;
  help: string;
  nodes: { target: unknown[] }[];
}

/** The refusal of a wrong password, in the page's language. */
const WRONG_PASSWORD = { ko: '아이디 또는 비밀번호가 틀렸습니다.', en: 'Wrong name or password.' };

/**
 * One person in one browser context (own localStorage, own socket), acting
 * only through what the page shows: labels, roles and data-testid.
 */
export class Buyer {
  /** Page errors and console errors (a failed load, an exception), to assert none happened. */
  readonly errors: string[] = [];
  /** Names of the Socket.IO events the page sent, in order, read from its WebSocket frames. */
  readonly sent: string[] = [];

  private constructor(
    readonly page: Page,
    readonly name: string,
    readonly lang: 'ko' | 'en',
  ) {
    page.on('pageerror', (err) => this.errors.push(`pageerror: ${err.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') this.errors.push(`console: ${message.text()}`);
    });
    page.on('websocket', (ws) => {
      ws.on('framesent', (frame) => {
        // Engine.IO message (4) carrying a Socket.IO EVENT (2), optionally with an ack id: 42<id>["name",…]
        const event = /^42\d*\["([^"]+)"/.exec(typeof frame.payload === 'string' ? frame.payload : frame.payload.toString());
        if (event?.[1]) this.sent.push(event[1]);
      });
    });
  }

  static async open(browser: Browser, url: string, name: string, options: BuyerOptions = {}): Promise<Buyer> {
    const locale = options.locale ?? 'en-US';
    // UTC on purpose: the page must show the venue's time (Seoul), not the browser's.
    const context = await browser.newContext({ viewport: options.viewport ?? { width: 1100, height: 900 }, locale, timezoneId: 'UTC' });
    context.setDefaultTimeout(UI_TIMEOUT_MS);
    const page = await context.newPage();
    await page.goto(url);
    return new Buyer(page, name, locale.startsWith('ko') ? 'ko' : 'en');
  }

  /** How many times the page has sent `event` so far. */
  sentCount(event: string): number {
    return this.sent.filter((e) => e === event).length;
  }

  byTestId(id: string): Locator {
    return this.page.getByTestId(id);
  }

  /** The seat button, found the way a screen reader finds it: by its accessible name. */
  seat(number: number, status: 'free' | 'held' | 'sold' | 'held by you' | 'bought by you'): Locator {
    return this.page.getByRole('button', { name: new RegExp(`^Seat ${number}, ${status}(,|$)`) });
  }

  view(name: 'signup' | 'browse' | 'queue' | 'seats' | 'tickets'): Promise<void> {
    return this.page.locator(`body[data-view="${name}"]`).waitFor();
  }

  /** Waits until the element's whole text is `text`. */
  async hasText(testId: string, text: string | RegExp): Promise<void> {
    const pattern = typeof text === 'string' ? new RegExp(`^\\s*${escapeRegExp(text)}\\s*$`) : text;
    await this.byTestId(testId).filter({ hasText: pattern }).waitFor();
  }

  async text(testId: string): Promise<string> {
    return ((await this.byTestId(testId).textContent()) ?? '').trim();
  }

  async signUp(): Promise<void> {
    await this.view('signup');
    await this.byTestId('signup-name').fill(this.name);
    await this.byTestId('signup-password').fill(PASSWORD);
    await this.byTestId('signup-submit').click();
    await this.view('browse');
    await this.byTestId('whoami').filter({ hasText: this.name }).waitFor();
  }

  /** Signs in to an existing account from the first view; with a wrong password, expects the refusal shown. */
  async signIn(password = PASSWORD): Promise<void> {
    await this.view('signup');
    await this.byTestId('signup-name').fill(this.name);
    await this.byTestId('signup-password').fill(password);
    await this.byTestId('signin-submit').click();
    if (password !== PASSWORD) {
      await this.byTestId('message').filter({ hasText: WRONG_PASSWORD[this.lang] }).waitFor();
      return;
    }
    await this.view('browse');
    await this.byTestId('whoami').filter({ hasText: this.name }).waitFor();
  }

  /** "Sign out": the session is revoked on the server and the page is back at the first view. */
  async signOut(): Promise<void> {
    await this.byTestId('signout').click();
    await this.view('signup');
  }

  /** Picks the concert and the date, and joins the waiting room. */
  async joinLine(concertId: number, dateId: number): Promise<void> {
    await this.byTestId(`concert-${concertId}`).click();
    await this.byTestId(`date-${dateId}`).click();
    await this.page.locator(`[data-testid="date-${dateId}"][aria-pressed="true"]`).waitFor();
    await this.byTestId('join-button').click();
  }

  /**
   * axe-core on the page as it is now; returns the serious and critical
   * violations (the bar is zero), every impact counted in `counts`.
   */
  async axe(): Promise<{ serious: AxeViolation[]; counts: Record<string, number> }> {
    if (!(await this.page.evaluate('typeof window.axe === "object"'))) await this.page.evaluate(AXE_SOURCE);
    const violations = await this.page.evaluate<AxeViolation[]>(
      '(async () => (await window.axe.run(document, { resultTypes: ["violations"] })).violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target })) })))()',
    );
    const counts: Record<string, number> = {};
    for (const v of violations) counts[v.impact ?? 'none'] = (counts[v.impact ?? 'none'] ?? 0) + 1;
    return { serious: violations.filter((v) => v.impact === 'serious' || v.impact === 'critical'), counts };
  }

  /** The whole page, or with `fullPage: false` what the screen shows (a phone, where the sticky bar sits at its bottom). */
  async screenshot(file: string, { fullPage = true } = {}): Promise<void> {
    mkdirSync(SCREENSHOT_DIR, { recursive: true });
    await this.page.screenshot({ path: path.join(SCREENSHOT_DIR, file), fullPage });
  }

  async close(): Promise<void> {
    await this.page.context().close();
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
