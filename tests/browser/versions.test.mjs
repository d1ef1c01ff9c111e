// Versions, object lock and Block Public Access in a real browser (headless
// Chromium, playwright-core). Run by tests/e2e/test_console_browser.py with
// the harness's environment (see harness.mjs).
//
// Covers: turn versioning on in the bucket's settings panel; upload a file
// twice with the file picker and watch the listing and the bucket's totals
// refresh in place; the object page's two versions (newest first, the
// latest marked), the older one downloaded and restored (it becomes the
// latest); a delete that leaves a delete marker, the deleted object found
// again with "Show versions" and restored; a version deleted for good after
// its confirmation; a Block Public Access switch turned on (the public switch
// then says why it is gone) and off; a lifecycle rule added with the settings
// panel's form, listed in words and removed; object lock turned on with a default
// retention, and a locked version's delete refused with a message; the
// object page at phone width; access key ids on one line in the keys table;
// no console errors or CSP violations.

import { readFileSync } from "node:fs";
import {
  assert, assertNoOverflow, assertVisibleText, BASE, check, createBucket, DESKTOP, expectStatus, newPage,
  PHONE, problems, run, shot, signInAsUser,
} from "./harness.mjs";

const BUCKET = "history-bucket";
const FILE = "notes.txt";

function listingRow(page, name) {
  return page.locator("table.objects tbody tr").filter({ has: page.locator("td.name a", { hasText: name }) });
}

function versionRows(page) {
  return page.locator("table.versions tbody tr");
}

// Chooses one file with the picker and waits for its upload and for the
// listing's refresh after it (no reload: the page is marked and checked).
async function upload(page, name, text) {
  const zone = page.locator("#upload");
  const before = Number((await zone.getAttribute("data-refreshes")) || 0);
  await page.evaluate(() => { window.cofferSamePage = true; });
  await page.locator("#pick-files").setInputFiles({ name, mimeType: "text/plain", buffer: Buffer.from(text) });
  await page.waitForFunction(({ name, before }) => {
    const lis = document.querySelectorAll(`#uploads li[data-key='${name}']`);
    const last = lis[lis.length - 1];
    const refreshed = Number(document.getElementById("upload").dataset.refreshes || 0);
    return last && last.dataset.state === "done" && refreshed > before;
  }, { name, before });
  assert.equal(await page.evaluate(() => window.cofferSamePage), true, "the page was not reloaded");
}

async function downloadText(page, locator) {
  const [download] = await Promise.all([page.waitForEvent("download"), locator.click()]);
  return readFileSync(await download.path(), "utf8");
}

async function openSettings(page) {
  if (!(await page.locator("details.settings").evaluate((d) => d.open))) {
    await page.locator("details.settings summary").click();
  }
}

await run(async (browser) => {
  const { page } = await newPage(browser, "desktop", DESKTOP, { acceptDownloads: true });

  await check("create a bucket and turn versioning on in its settings", async () => {
    await signInAsUser(page);
    await createBucket(page, BUCKET);
    await page.waitForURL(/created=/);
    await page.getByRole("link", { name: BUCKET, exact: true }).click();
    await page.waitForURL(new RegExp(`/buckets/${BUCKET}$`));
    await openSettings(page);
    await assertVisibleText(page.locator("#versioning-state"), "Off.");
    await assertVisibleText(page.locator("#lock-needs-versioning"), "enable versioning first");
    assert.equal(await page.locator("#versions-toggle").count(), 0, "no versions to show yet");
    await page.getByRole("button", { name: "Enable versioning" }).click();
    await page.waitForURL(/settings=versioning-enabled/);
    await assertVisibleText(page.locator(".notice"), "Versioning is enabled");
    await assertVisibleText(page.locator("#versioning-state"), "Enabled.");
    await assertVisibleText(page.locator("#versioning-badge"), "Versioning enabled");
    assert.equal(await page.getByRole("button", { name: "Suspend versioning" }).count(), 1);
    await shot(page, "30-versioning-enabled");
  });

  await check("upload a file twice: the listing and the totals refresh in place", async () => {
    await page.goto(`${BASE}/buckets/${BUCKET}`);
    await assertVisibleText(page.locator(".empty"), "This folder is empty");
    await upload(page, FILE, "first draft");
    await listingRow(page, FILE).waitFor();
    assert.equal(await page.locator(".empty").count(), 0, "no longer says the folder is empty");
    await assertVisibleText(page.locator("#bucket-usage"), "in 1 object ");
    await upload(page, FILE, "second draft, longer");
    // Both versions count in the bucket's totals.
    await page.waitForFunction(() => document.getElementById("bucket-usage").textContent.includes("in 2 objects"));
    assert.equal(await listingRow(page, FILE).count(), 1, "one key in the listing");
    await shot(page, "31-uploaded-twice");
  });

  await check("the object page lists two versions, newest first; the older one downloads", async () => {
    await listingRow(page, FILE).locator("td.name a").click();
    await page.waitForURL(/\/object\?key=notes.txt$/);
    await versionRows(page).first().waitFor();
    assert.equal(await versionRows(page).count(), 2);
    await assertVisibleText(versionRows(page).nth(0), "Latest");
    assert.equal(await versionRows(page).nth(1).locator(".badge.latest").count(), 0);
    assert.equal(await versionRows(page).nth(0).getByRole("button", { name: "Restore" }).count(), 0,
      "the latest is not restored onto itself");
    const older = await downloadText(page, versionRows(page).nth(1).getByRole("link", { name: "Download" }));
    assert.equal(older, "first draft");
    await shot(page, "32-object-versions");
  });

  await check("restore the older version: it becomes the latest", async () => {
    const id = await versionRows(page).nth(1).getAttribute("data-version");
    await versionRows(page).nth(1).getByRole("button", { name: "Restore" }).click();
    await page.waitForURL(/restored=/);
    await assertVisibleText(page.locator(".notice"), `Version ${id} was restored`);
    assert.equal(await versionRows(page).count(), 3);
    await assertVisibleText(versionRows(page).nth(0), "Latest");
    assert.equal(await downloadText(page, page.locator("#download")), "first draft");
    await shot(page, "33-restored");
  });

  await check("delete the object: a delete marker; Show versions finds it; a restore brings it back", async () => {
    await page.goto(`${BASE}/buckets/${BUCKET}`);
    await listingRow(page, FILE).locator("input[type=checkbox]").check();
    await page.getByRole("button", { name: "Delete selected…" }).click();
    await assertVisibleText(page.locator("main .alert"), "delete marker");
    await page.getByRole("button", { name: "Delete", exact: true }).click();
    await assertVisibleText(page.locator(".notice"), "Deleted 1 object.");
    await assertVisibleText(page.locator(".empty"), "This folder is empty");
    await page.locator("#versions-toggle").click();
    await page.waitForURL(/versions=1/);
    const rows = page.locator("#version-listing tbody tr");
    assert.equal(await rows.count(), 4, "three versions and the marker");
    await assertVisibleText(rows.first(), "Delete marker");
    await shot(page, "34-show-versions");
    await rows.first().locator("td.name a").click();
    await assertVisibleText(page.locator("#object-deleted"), "This object was deleted");
    assert.equal(await page.locator("#download").count(), 0, "nothing to download");
    await shot(page, "35-deleted-object");
    await versionRows(page).nth(1).getByRole("button", { name: "Restore" }).click();
    await page.waitForURL(/restored=/);
    assert.equal(await page.locator("#object-deleted").count(), 0);
    assert.equal(await downloadText(page, page.locator("#download")), "first draft");
  });

  await check("delete one version for good, after its confirmation", async () => {
    const count = await versionRows(page).count();
    const oldest = versionRows(page).last();
    const id = await oldest.getAttribute("data-version");
    await oldest.getByRole("button", { name: "Delete…" }).click();
    await assertVisibleText(page.locator("main .alert"), "This cannot be undone");
    await shot(page, "36-delete-version-confirm");
    await page.getByRole("button", { name: "Delete this version" }).click();
    await assertVisibleText(page.locator(".notice"), `Version ${id} was deleted.`);
    assert.equal(await versionRows(page).count(), count - 1);
    assert.equal(await page.locator(`table.versions tr[data-version='${id}']`).count(), 0);
  });

  await check("Block Public Access: a switch on removes the public switch, and off brings it back", async () => {
    await page.goto(`${BASE}/buckets/${BUCKET}`);
    await openSettings(page);
    assert.equal(await page.getByRole("button", { name: /Make public/ }).count(), 1);
    await page.locator("#bpa-BlockPublicPolicy").check();
    await page.getByRole("button", { name: "Save Block Public Access" }).click();
    await page.waitForURL(/settings=public-access-block/);
    await assertVisibleText(page.locator(".notice"), "Block Public Access was saved.");
    assert.equal(await page.locator("#bpa-BlockPublicPolicy").isChecked(), true);
    assert.equal(await page.locator("#bpa-BlockPublicAcls").isChecked(), false);
    await assertVisibleText(page.locator("#public-blocked"), "cannot be made public");
    assert.equal(await page.getByRole("button", { name: /Make public/ }).count(), 0);
    await shot(page, "37-block-public-access");
    await page.locator("#bpa-BlockPublicPolicy").uncheck();
    await page.getByRole("button", { name: "Save Block Public Access" }).click();
    await page.waitForURL(/settings=public-access-block/);
    assert.equal(await page.locator("#bpa-BlockPublicPolicy").isChecked(), false);
    assert.equal(await page.getByRole("button", { name: /Make public/ }).count(), 1);
  });

  await check("lifecycle: a rule added with the form is listed, then removed", async () => {
    await page.goto(`${BASE}/buckets/${BUCKET}`);
    await openSettings(page);
    await assertVisibleText(page.locator("#lifecycle-none"), "No lifecycle rules");
    const form = page.locator("#lifecycle-form");
    await form.getByLabel("Prefix").fill("logs/");
    await form.getByLabel("Expire objects after (days)").fill("7");
    await form.getByLabel("Delete noncurrent versions after (days)").fill("30");
    await form.getByLabel("Keep the newest").fill("2");
    await form.getByRole("button", { name: "Add rule" }).click();
    await page.waitForURL(/settings=lifecycle-added/);
    await assertVisibleText(page.locator(".notice"), "The lifecycle rule was added");
    const rule = page.locator("#lifecycle-rules li");
    assert.equal(await rule.count(), 1);
    await assertVisibleText(rule.first(),
      "prefix logs/: expire after 7 days; delete noncurrent versions after 30 days, keeping the newest 2");
    assert.equal(await rule.first().getAttribute("data-rule"), "rule-1");
    await shot(page, "37a-lifecycle-rule");
    await rule.first().getByRole("button", { name: "Remove rule rule-1" }).click();
    await page.waitForURL(/settings=lifecycle-removed/);
    await assertVisibleText(page.locator(".notice"), "The lifecycle rule was removed.");
    await assertVisibleText(page.locator("#lifecycle-none"), "No lifecycle rules");
    assert.equal(await page.locator("#lifecycle-rules li").count(), 0);
  });

  await check("object lock: on with a default retention; a locked version's delete is refused", async () => {
    await openSettings(page);
    await page.locator("#lock-confirm").check();
    await page.getByRole("button", { name: "Enable object lock" }).click();
    await page.waitForURL(/settings=lock-on/);
    await assertVisibleText(page.locator("#lock-state"), "On.");
    await assertVisibleText(page.locator("#suspend-refused"), "object lock is on");
    await page.getByLabel("Default retention").selectOption("GOVERNANCE");
    await page.getByLabel("Period").fill("1");
    await page.getByLabel("Unit").selectOption("days");
    await page.getByRole("button", { name: "Save default retention" }).click();
    await page.waitForURL(/settings=retention/);
    await assertVisibleText(page.locator("#default-retention"), "GOVERNANCE, 1 day");
    await shot(page, "38-object-lock");
    await upload(page, "locked.txt", "kept for a day");
    await listingRow(page, "locked.txt").locator("td.name a").click();
    await assertVisibleText(versionRows(page).first().locator("td[data-label=Retention]"), "GOVERNANCE until");
    await versionRows(page).first().getByRole("button", { name: "Delete…" }).click();
    await expectStatus(403, async () => {
      await page.getByRole("button", { name: "Delete this version" }).click();
      await assertVisibleText(page.locator("#version-refused"), "under retention (GOVERNANCE until");
    });
    assert.equal(await page.getByRole("button", { name: "Delete this version" }).count(), 0);
    await shot(page, "39-locked-refused");
    await page.locator("#back-to-object").click();
    assert.equal(await versionRows(page).count(), 1, "the locked version is still there");
  });

  await check("phone width: the object page with its versions fits", async () => {
    const phone = await newPage(browser, "phone", PHONE);
    await signInAsUser(phone.page);
    await phone.page.goto(`${BASE}/buckets/${BUCKET}/object?key=${FILE}`);
    await versionRows(phone.page).first().waitFor();
    await assertNoOverflow(phone.page, "object versions at phone width");
    await shot(phone.page, "40-phone-versions");
    await phone.page.goto(`${BASE}/buckets/${BUCKET}?versions=1`);
    await assertNoOverflow(phone.page, "folder versions at phone width");
    await phone.context.close();
  });

  await check("S3 keys: an access key id stays on one line", async () => {
    await page.goto(`${BASE}/keys`);
    await page.getByRole("button", { name: "Generate S3 key" }).click();
    const ak = (await page.locator("#fresh-ak").innerText()).trim();
    const cell = page.locator("table.keys tbody tr td.name code").filter({ hasText: ak });
    const lines = () => cell.evaluate((c) => c.getClientRects().length);
    assert.equal(await lines(), 1, "the id wraps at desktop width");
    await page.setViewportSize(PHONE);
    assert.equal(await lines(), 1, "the id wraps at phone width");
    await assertNoOverflow(page, "keys at phone width");
    await shot(page, "41-keys-phone");
    await page.setViewportSize(DESKTOP);
  });

  await check("no console errors, CSP violations or failed requests", async () => {
    assert.deepEqual(problems, []);
  });
});
