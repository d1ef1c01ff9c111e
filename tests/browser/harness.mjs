// The shared harness of the browser tests (console.test.mjs, objects.test.mjs):
// environment, the launched Chromium, the problem collector (console errors,
// CSP violations, failed requests, unexpected HTTP errors), screenshots, and
// numbered steps.

import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { chromium } from "playwright-core";

export function env(name, fallback) {
  const v = process.env[name] ?? fallback;
  if (v === undefined || v === "") {
    throw new Error(`environment variable ${name} is not set`);
  }
  return v;
}

export const BASE = env("CONSOLE_URL").replace(/\/$/, "");
export const PROJECT = env("CONSOLE_PROJECT");
export const USER = env("CONSOLE_USER");
export const PASSWORD = env("CONSOLE_PASSWORD");
export const OP_KEY = env("OPERATOR_ACCESS_KEY");
export const OP_SECRET = env("OPERATOR_SECRET_KEY");
export const ARTIFACTS = env("ARTIFACTS_DIR");
export const CHROMIUM = env("CHROMIUM", "/usr/bin/chromium");
export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };
export const TIMEOUT = 15_000;

mkdirSync(ARTIFACTS, { recursive: true });

// Everything a page reports that a person would call broken: console errors
// (CSP violations are reported there), uncaught exceptions, failed requests,
// and HTTP errors other than the one a step expects (`expectStatus`).
export const problems = [];
let expected = null;
export const pages = [];
// While `allowed`, requests the page itself aborts (a cancelled upload) are
// not problems.
export const aborts = { allowed: false };

// Runs `action`, during which responses with `status` are expected (e.g. the
// 400 of the create form refusing an invalid name).
export async function expectStatus(status, action) {
  expected = status;
  try {
    await action();
  } finally {
    expected = null;
  }
}

export async function newPage(browser, label, viewport, options = {}) {
  const context = await browser.newContext({ viewport, deviceScaleFactor: 1, ...options });
  context.setDefaultTimeout(TIMEOUT);
  const page = await context.newPage();
  pages.push(page);
  page.on("console", (msg) => {
    const text = msg.text();
    if (msg.type() !== "error" && !/Content.Security.Policy/i.test(text)) {
      return;
    }
    // Chromium also logs an expected error status as a failed resource.
    if (expected !== null && text.includes(`status of ${expected} `)) {
      return;
    }
    problems.push(`[${label}] console ${msg.type()}: ${text} (${msg.location().url})`);
  });
  page.on("pageerror", (err) => problems.push(`[${label}] page error: ${err.message}`));
  page.on("requestfailed", (req) => !(aborts.allowed && req.failure()?.errorText === "net::ERR_ABORTED") &&
    problems.push(`[${label}] request failed: ${req.method()} ${req.url()}: ${req.failure()?.errorText}`));
  page.on("response", (resp) => {
    const s = resp.status();
    if (s >= 400 && s !== expected) {
      problems.push(`[${label}] HTTP ${s} for ${resp.request().method()} ${resp.url()}`);
    }
  });
  return { context, page };
}

export async function shot(page, name) {
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  console.log(`  screenshot ${file}`);
}

// A page must fit its viewport's width (no sideways scrolling at phone width).
export async function assertNoOverflow(page, what) {
  const { scroll, client } = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    client: document.documentElement.clientWidth,
  }));
  assert.ok(scroll <= client, `${what}: the page is ${scroll}px wide in a ${client}px viewport`);
}

let step = 0;
export const state = { current: "starting the browser" };
export async function check(name, fn) {
  step += 1;
  state.current = `${step} - ${name}`;
  const t0 = Date.now();
  await fn();
  console.log(`ok ${state.current} (${Date.now() - t0} ms)`);
}

export async function assertVisibleText(locator, text) {
  await locator.first().waitFor({ state: "visible" });
  const got = (await locator.first().innerText()).trim();
  assert.ok(got.includes(text), `expected ${JSON.stringify(text)} in ${JSON.stringify(got)}`);
}

// Signs in as a user of the test's project (by default the one the harness
// was given) from a page without a session.
export async function signInAsUser(page, user = USER, password = PASSWORD) {
  await page.goto(`${BASE}/`);
  await page.waitForURL(/\/signin$/);
  await page.getByLabel("Project").fill(PROJECT);
  await page.getByLabel("User").fill(user);
  await page.getByLabel("Password").fill(password);
  await Promise.all([page.waitForURL(/\/buckets$/), page.getByRole("button", { name: "Sign in" }).click()]);
}

export async function createBucket(page, name) {
  await page.getByLabel("Name", { exact: true }).fill(name);
  await page.getByRole("button", { name: "Create bucket" }).click();
}

export function bucketRow(page, name) {
  return page.locator("table.buckets tbody tr").filter({ has: page.locator("td.name", { hasText: name }) });
}

export async function launch() {
  return chromium.launch({
    executablePath: CHROMIUM,
    // The machine has no network but loopback: keep Chromium from calling home.
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    timeout: 60_000,
  });
}

// Runs `steps(browser)`; on failure prints the step, the problems, and a
// screenshot of the newest open page. Exits with the result.
export async function run(steps) {
  const browser = await launch();
  let exitCode = 0;
  try {
    console.log(`# ${browser.version()} against ${BASE}`);
    await steps(browser);
  } catch (err) {
    exitCode = 1;
    console.error(`not ok ${state.current}\n${err.stack || err}`);
    if (problems.length) {
      console.error(`problems reported by the pages:\n  ${problems.join("\n  ")}`);
    }
    const last = pages.filter((p) => !p.isClosed()).pop();
    if (last) {
      console.error(`the page at the failure: ${last.url()}`);
      await shot(last, "failure").catch(() => {});
    }
  } finally {
    await browser.close();
  }
  process.exit(exitCode);
}

export { assert, path, mkdirSync };
