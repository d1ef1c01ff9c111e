// Coffer's web console in a real browser: Debian's headless Chromium driven by
// playwright-core. Run by tests/e2e/test_console_browser.py, which starts the
// real `coffer` binary, makes a project user with a console password, and
// passes everything through the environment:
//   CONSOLE_URL           the console's base URL, e.g. http://127.0.0.1:PORT
//   CONSOLE_PROJECT, CONSOLE_USER, CONSOLE_PASSWORD   the project user
//   OPERATOR_ACCESS_KEY, OPERATOR_SECRET_KEY          the operator
//   ARTIFACTS_DIR         where the screenshots go (made if missing)
//   CHROMIUM              the browser (default /usr/bin/chromium)
//
// Covers: sign-in as a project user, the empty bucket list, an invalid name
// refused inline, create, delete after the confirmation page, the operator's
// view (project column), the phone layout (390x844, no horizontal overflow),
// sign-out; and that no page logs an error or a CSP violation.
// Prints one line per step; exits non-zero on the first failure.

import {
  assert, assertNoOverflow, assertVisibleText, check, DESKTOP, env, expectStatus, newPage, OP_KEY, OP_SECRET,
  PHONE, problems, run, shot, BASE, PROJECT, USER, PASSWORD, signInAsUser, createBucket, bucketRow,
} from "./harness.mjs";

async function deleteBucket(page, name, screenshot) {
  await bucketRow(page, name).getByRole("link", { name: "Delete…" }).click();
  await page.waitForURL(new RegExp(`/buckets/${name}/delete$`));
  await assertVisibleText(page.locator("h1"), "Delete bucket");
  await assertVisibleText(page.locator("main strong.name"), name);
  if (screenshot) {
    await shot(page, screenshot);
  }
  await Promise.all([
    page.waitForURL(new RegExp(`/buckets\\?deleted=${name}$`)),
    page.getByRole("button", { name: "Delete bucket" }).click(),
  ]);
  await assertVisibleText(page.locator(".notice"), `Bucket ${name} deleted.`);
  assert.equal(await bucketRow(page, name).count(), 0, `${name} is still listed after its deletion`);
}

await run(async (browser) => {
  const { page } = await newPage(browser, "desktop", DESKTOP);

  await check("signed out, / leads to the sign-in page", async () => {
    await page.goto(`${BASE}/`);
    await page.waitForURL(/\/signin$/);
    assert.equal(await page.title(), "Sign in · Coffer");
    await assertVisibleText(page.locator("h1"), "Sign in");
    await shot(page, "01-signin");
  });

  await check("a wrong password is refused on the sign-in page", async () => {
    await page.getByLabel("Project").fill(PROJECT);
    await page.getByLabel("User").fill(USER);
    await page.getByLabel("Password").fill(`${PASSWORD}-wrong`);
    await expectStatus(401, async () => {
      await page.getByRole("button", { name: "Sign in" }).click();
      await assertVisibleText(page.locator("p.error"), "Wrong project, user name or password");
    });
    assert.match(page.url(), /\/signin$/);
    assert.equal(await page.getByLabel("Project").inputValue(), PROJECT, "the form keeps the project");
  });

  await check("sign in as the project user: empty bucket list", async () => {
    await signInAsUser(page);
    await assertVisibleText(page.locator("h1"), "Buckets");
    await assertVisibleText(page.locator("#who"), USER);
    await assertVisibleText(page.locator(".empty"), "No buckets yet");
    await shot(page, "02-buckets-empty");
  });

  await check("an invalid bucket name is refused inline", async () => {
    await expectStatus(400, async () => {
      await createBucket(page, "Bad_Name");
      await assertVisibleText(page.locator("#name-error"), "Not a valid bucket name");
    });
    const input = page.getByLabel("Name", { exact: true });
    assert.equal(await input.inputValue(), "Bad_Name", "the form keeps what was typed");
    assert.equal(await input.getAttribute("aria-invalid"), "true");
    assert.ok(await input.evaluate((el) => el === document.activeElement), "the invalid field has the focus");
    assert.equal(await page.locator("table.buckets").count(), 0, "no bucket was created");
    await shot(page, "03-create-error");
  });

  await check("create browser-bucket: it is listed", async () => {
    await createBucket(page, "browser-bucket");
    await page.waitForURL(/\/buckets\?created=browser-bucket$/);
    await assertVisibleText(page.locator(".notice"), "Bucket browser-bucket created.");
    const row = bucketRow(page, "browser-bucket");
    assert.equal(await row.count(), 1);
    assert.equal((await row.locator("td[data-label=Objects]").innerText()).trim(), "0");
    assert.equal(await page.locator("th", { hasText: "Project" }).count(), 0,
      "a project user sees no project column");
    await shot(page, "04-buckets-list");
  });

  await check("delete browser-bucket after the confirmation page", async () => {
    await deleteBucket(page, "browser-bucket", "05-delete-confirm");
    await assertVisibleText(page.locator(".empty"), "No buckets yet");
  });

  await check("phone width (390x844): sign-in, list, inline error fit the screen", async () => {
    const phone = await newPage(browser, "phone", PHONE);
    const p = phone.page;
    await p.goto(`${BASE}/signin`);
    await assertNoOverflow(p, "sign-in at phone width");
    await shot(p, "06-phone-signin");
    await signInAsUser(p);
    await createBucket(p, "phone-bucket-with-a-rather-long-name-0123456789");
    await p.waitForURL(/created=/);
    await expectStatus(400, async () => {
      await createBucket(p, "x");
      await assertVisibleText(p.locator("#name-error"), "Not a valid bucket name");
    });
    await assertVisibleText(p.locator("td.name"), "phone-bucket-with-a-rather-long-name-0123456789");
    await assertNoOverflow(p, "bucket list at phone width");
    await shot(p, "07-phone-buckets");
    await phone.context.close();
  });

  await check("the operator sees every project's buckets with a project column", async () => {
    const op = await newPage(browser, "operator", DESKTOP);
    const p = op.page;
    await p.goto(`${BASE}/signin`);
    await p.getByRole("link", { name: "Operator" }).click();
    await p.waitForURL(/\/signin\?as=operator$/);
    await p.getByLabel("Access key").fill(OP_KEY);
    await p.getByLabel("Secret key").fill(OP_SECRET);
    await Promise.all([p.waitForURL(/\/buckets$/), p.getByRole("button", { name: "Sign in" }).click()]);
    await assertVisibleText(p.locator("table.buckets thead"), "Project");
    const row = bucketRow(p, "phone-bucket-with-a-rather-long-name-0123456789");
    assert.equal((await row.locator("td[data-label=Project]").innerText()).trim(), PROJECT);
    await shot(p, "08-operator-buckets");
    await p.getByRole("link", { name: "Projects" }).click();
    await p.waitForURL(/\/projects$/);
    await assertVisibleText(p.locator("main table"), PROJECT);
    await shot(p, "09-operator-projects");
    await p.getByRole("link", { name: PROJECT, exact: true }).click();
    await p.waitForURL(new RegExp(`/projects/${PROJECT}$`));
    await assertVisibleText(p.locator("h1"), PROJECT);
    await shot(p, "09b-operator-project");
    await p.goto(`${BASE}/buckets`);
    await deleteBucket(p, "phone-bucket-with-a-rather-long-name-0123456789");
    await Promise.all([p.waitForURL(/\/signin$/), p.getByRole("button", { name: "Sign out" }).click()]);
    await op.context.close();
  });

  await check("sign out: back to sign-in, the bucket list needs a session again", async () => {
    await Promise.all([page.waitForURL(/\/signin$/), page.getByRole("button", { name: "Sign out" }).click()]);
    await assertVisibleText(page.locator("h1"), "Sign in");
    await page.goto(`${BASE}/buckets`);
    await page.waitForURL(/\/signin$/);
  });

  await check("no console errors, CSP violations or failed requests", async () => {
    assert.deepEqual(problems, []);
  });
});
