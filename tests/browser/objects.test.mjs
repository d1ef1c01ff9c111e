// The object browser and the rest of a customer's day in a real browser
// (headless Chromium, playwright-core). Run by tests/e2e/test_console_browser.py
// with the harness's environment (see harness.mjs) and:
//   S3_URL, S3_REGION     the S3 endpoint, for share links and boto3
//   PYTHON                a Python with boto3 (runs s3_probe.py)
//   ROOT_PASSWORD         the console password of the project's root user,
//                         who creates the read-object-only user on the Users page
//
// Covers: open a bucket; drop two files and a folder (a DataTransfer built in
// the page; the folder as a directory entry) and watch every progress bar
// finish, the large file in parallel multipart parts; the listing and the
// bucket's totals refresh in place (no reload); folders and breadcrumbs; download and compare bytes; a share link fetched without
// credentials; cancel a throttled multipart upload and see nothing left;
// multi-select delete; public switch; generate an S3 key and list the bucket
// with boto3, delete the key and see boto3 refused; usage charts; the root
// user creates a read-object-only user with a password on the Users page,
// and that user's view; phone width; sign out; no console errors or CSP
// violations.

import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { fileURLToPath } from "node:url";
import {
  aborts, assert, assertNoOverflow, assertVisibleText, BASE, check, createBucket, DESKTOP, env,
  newPage, path, PHONE, problems, run, shot, signInAsUser,
} from "./harness.mjs";

const S3_URL = env("S3_URL").replace(/\/$/, "");
const S3_REGION = env("S3_REGION");
const PYTHON = env("PYTHON");
const ROOT_PASSWORD = env("ROOT_PASSWORD");
const READER_USER = "reader";
const READER_PASSWORD = "reader-password-0123";
const PROBE = path.join(path.dirname(fileURLToPath(import.meta.url)), "s3_probe.py");
const BUCKET = "drop-bucket";
const BIG = 20 * 1024 * 1024 + 12345; // above the 16 MiB multipart threshold: 3 parts
const SLOW = 40 * 1024 * 1024;

// The bytes the page generates for a file of `n` bytes (same formula there).
function pattern(n, seed) {
  const a = new Uint8Array(n);
  for (let i = 0; i < n; i++) { a[i] = ((i * 31 + seed) ^ (i >> 8)) & 255; }
  return a;
}

// boto3 with a key, as a customer's script would run it.
function probe(command, ak, sk) {
  const r = spawnSync(PYTHON, [PROBE, command, S3_URL, S3_REGION, ak, sk, BUCKET], { encoding: "utf8" });
  assert.equal(r.status, 0, `s3_probe.py failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop());
}

// Drops files built in the page: `files` are [name, size, seed] (or [name,
// text]); `folder` a tree {name, children} given as a directory entry (pages
// cannot construct FileSystemDirectoryEntry; this has its shape: createReader,
// readEntries in batches, file()).
async function drop(page, files, folder) {
  await page.evaluate(({ files, folder }) => {
    const bytes = (n, seed) => {
      const a = new Uint8Array(n);
      for (let i = 0; i < n; i++) { a[i] = ((i * 31 + seed) ^ (i >> 8)) & 255; }
      return a;
    };
    const make = ([name, a, b]) => new File([typeof a === "string" ? a : bytes(a, b)], name,
      { type: typeof a === "string" ? "text/plain" : "application/octet-stream" });
    const dt = new DataTransfer();
    files.forEach((f) => dt.items.add(make(f)));
    const entry = (node) => node.children
      ? {
        isFile: false, isDirectory: true, name: node.name,
        createReader() {
          let given = false;
          return { readEntries(ok) { const out = given ? [] : node.children.map(entry); given = true; setTimeout(() => ok(out), 0); } };
        },
      }
      : { isFile: true, isDirectory: false, name: node.name, file(ok) { ok(make([node.name, node.text])); } };
    const items = Array.from(dt.items);
    if (folder) { items.push({ kind: "file", webkitGetAsEntry: () => entry(folder), getAsFile: () => null }); }
    const ev = new DragEvent("drop", { bubbles: true, cancelable: true, dataTransfer: dt });
    Object.defineProperty(ev, "dataTransfer", { value: { items, files: dt.files, types: ["Files"] } });
    document.body.dispatchEvent(ev);
  }, { files, folder });
}

function row(page, name) {
  return page.locator("table.objects tbody tr").filter({ has: page.locator("td.name a", { hasText: name }) });
}

await run(async (browser) => {
  const { context, page } = await newPage(browser, "desktop", DESKTOP,
    { permissions: ["clipboard-read", "clipboard-write"], acceptDownloads: true });

  await check("sign in, create a bucket and open it: the empty folder", async () => {
    await signInAsUser(page);
    await createBucket(page, BUCKET);
    await page.waitForURL(/created=/);
    await page.getByRole("link", { name: BUCKET, exact: true }).click();
    await page.waitForURL(new RegExp(`/buckets/${BUCKET}$`));
    await assertVisibleText(page.locator(".empty"), "This folder is empty");
    await shot(page, "10-bucket-empty");
  });

  await check("drop two files and a folder: four uploads, every progress bar finishes", async () => {
    // Marks this page: a reload or navigation would lose it.
    await page.evaluate(() => { window.cofferSamePage = true; });
    await drop(page, [["a.txt", "hello from a"], ["big.bin", BIG, 7]],
      { name: "folder", children: [{ name: "c.txt", text: "in the folder" },
        { name: "sub", children: [{ name: "d.txt", text: "deeper" }] }] });
    const items = page.locator("#uploads li");
    await page.waitForFunction(() => document.querySelectorAll("#uploads li").length === 4);
    await page.waitForFunction(() => Array.from(document.querySelectorAll("#uploads li"))
      .every((li) => li.dataset.state === "done"), null, { timeout: 60_000 });
    const keys = await items.evaluateAll((lis) => lis.map((li) => li.dataset.key).sort());
    assert.deepEqual(keys, ["a.txt", "big.bin", "folder/c.txt", "folder/sub/d.txt"]);
    const bars = await page.locator("#uploads progress").evaluateAll((ps) => ps.map((p) => p.value >= p.max));
    assert.deepEqual(bars, [true, true, true, true], "every bar is full");
    await assertVisibleText(page.locator("#uploads li[data-key='big.bin']"), "Done, 20.0 MiB");
    await shot(page, "11-uploads-done");
  });

  await check("choose a folder with the folder picker: its files upload under its name", async () => {
    const root = mkdtempSync(path.join(tmpdir(), "coffer-pick-"));
    const dir = path.join(root, "picked");
    mkdirSync(path.join(dir, "inner"), { recursive: true });
    writeFileSync(path.join(dir, "one.txt"), "picked one");
    writeFileSync(path.join(dir, "inner", "two.txt"), "picked two");
    await page.locator("#pick-folder").setInputFiles(dir);
    await page.waitForFunction(() => {
      const lis = Array.from(document.querySelectorAll("#uploads li[data-key^='picked/']"));
      return lis.length === 2 && lis.every((li) => li.dataset.state === "done");
    });
    const keys = await page.locator("#uploads li[data-key^='picked/']")
      .evaluateAll((lis) => lis.map((li) => li.dataset.key).sort());
    assert.deepEqual(keys, ["picked/inner/two.txt", "picked/one.txt"]);
  });

  await check("the listing and the bucket's totals refresh in place; breadcrumbs lead back", async () => {
    await row(page, "big.bin").waitFor();
    await row(page, "picked/").waitFor();
    await page.waitForFunction(() => document.getElementById("bucket-usage").textContent.includes("in 6 objects"));
    assert.equal(await page.locator(".empty").count(), 0, "the empty-folder card is gone");
    assert.equal(await page.evaluate(() => window.cofferSamePage), true, "no reload or navigation");
    assert.ok(new URL(page.url()).pathname.endsWith(`/buckets/${BUCKET}`), page.url());
    await assertVisibleText(page.locator("#uploads-done"), "Uploads finished");
    assert.ok(await page.locator("#uploads-stale").isHidden(), "the listing was updated");
    // "Select all" works on the swapped-in listing.
    await page.locator("#pick-all").check();
    assert.equal(await row(page, "a.txt").locator("input[type=checkbox]").isChecked(), true);
    await page.locator("#pick-all").uncheck();
    await assertVisibleText(row(page, "big.bin").locator("td[data-label=Size]"), "20.0 MiB");
    await row(page, "folder/").locator("a").click();
    await page.waitForURL(/prefix=folder%2F$/);
    await row(page, "c.txt").waitFor();
    await row(page, "sub/").locator("a").click();
    await row(page, "d.txt").waitFor();
    await assertVisibleText(page.locator("nav.crumbs"), "folder");
    await shot(page, "12-folder");
    await page.locator("nav.crumbs a", { hasText: BUCKET }).click();
    await page.waitForURL(new RegExp(`/buckets/${BUCKET}$`));
  });

  await check("download big.bin: the bytes are the ones uploaded", async () => {
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      row(page, "big.bin").getByRole("link", { name: "Download" }).click(),
    ]);
    assert.equal(download.suggestedFilename(), "big.bin");
    const got = readFileSync(await download.path());
    assert.equal(got.length, BIG);
    assert.ok(Buffer.from(pattern(BIG, 7)).equals(got), "downloaded bytes differ from the uploaded ones");
  });

  await check("share a.txt: the link works without credentials, and copies", async () => {
    await row(page, "a.txt").locator("td.name a").click();
    await page.waitForURL(/\/object\?key=a.txt$/);
    await assertVisibleText(page.locator("dl.details"), "text/plain");
    await page.getByLabel("Link works for").selectOption({ label: "1 hour" });
    await page.getByRole("button", { name: "Create link" }).click();
    const url = (await page.locator("#share-url").innerText()).trim();
    assert.ok(url.startsWith(`${S3_URL}/${BUCKET}/a.txt?`), url);
    const r = await fetch(url);
    assert.equal(r.status, 200);
    assert.equal(await r.text(), "hello from a");
    await page.locator("[data-copy=share-url]").click();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), url);
    await shot(page, "13-share-link");
    await page.goto(`${BASE}/buckets/${BUCKET}`);
  });

  await check("cancel a slow multipart upload: nothing is stored, no upload left", async () => {
    const cdp = await context.newCDPSession(page);
    await cdp.send("Network.enable");
    await cdp.send("Network.emulateNetworkConditions",
      { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 2 * 1024 * 1024 });
    aborts.allowed = true;
    try {
      await drop(page, [["cancel-me.bin", SLOW, 3]]);
      const li = page.locator("#uploads li[data-key='cancel-me.bin']");
      await page.waitForFunction(() => {
        const p = document.querySelector("#uploads li[data-key='cancel-me.bin'] progress");
        return p && p.value > 1024 * 1024;
      }, null, { timeout: 30_000 });
      assert.equal(await li.getAttribute("data-state"), "uploading", "the throttled upload is still running");
      await li.getByRole("button", { name: "Cancel" }).click();
      await page.waitForFunction(() => document.querySelector("#uploads li[data-key='cancel-me.bin']")
        .dataset.state === "cancelled");
      await assertVisibleText(li, "Cancelled; nothing was stored.");
    } finally {
      await cdp.send("Network.emulateNetworkConditions",
        { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
      aborts.allowed = false;
    }
  });

  let key;
  await check("generate an S3 key: boto3 lists the bucket with it", async () => {
    await page.getByRole("link", { name: "S3 keys" }).click();
    await page.getByRole("button", { name: "Generate S3 key" }).click();
    await assertVisibleText(page.locator("[data-key-card] .alert"), "will not be shown again");
    key = {
      ak: (await page.locator("#fresh-ak").innerText()).trim(),
      sk: (await page.locator("#fresh-sk").innerText()).trim(),
    };
    await shot(page, "14-key-created");
    const listed = probe("list", key.ak, key.sk);
    assert.ok(listed.ok, JSON.stringify(listed));
    assert.deepEqual(listed.keys,
      ["a.txt", "big.bin", "folder/c.txt", "folder/sub/d.txt", "picked/inner/two.txt", "picked/one.txt"]);
    // The cancelled upload left nothing behind (its abort is sent as the
    // page cancels; give it a moment).
    let uploads = probe("uploads", key.ak, key.sk);
    for (let i = 0; i < 20 && uploads.keys?.length; i++) {
      await new Promise((r) => setTimeout(r, 250));
      uploads = probe("uploads", key.ak, key.sk);
    }
    assert.deepEqual(uploads, { ok: true, keys: [] });
  });

  await check("delete the key: boto3 is refused at once", async () => {
    await page.goto(`${BASE}/keys`);
    const keyRow = page.locator("table.keys tbody tr").filter({ hasText: key.ak });
    await keyRow.getByRole("link", { name: "Delete…" }).click();
    await page.getByRole("button", { name: "Delete key" }).click();
    await page.waitForURL(/\/keys/);
    assert.equal(await page.locator("table.keys tbody tr").filter({ hasText: key.ak }).count(), 0);
    const refused = probe("list", key.ak, key.sk);
    assert.deepEqual(refused, { ok: false, code: "InvalidAccessKeyId" });
  });

  await check("multi-select delete after a confirmation", async () => {
    await page.goto(`${BASE}/buckets/${BUCKET}`);
    await row(page, "a.txt").locator("input[type=checkbox]").check();
    await row(page, "folder/").locator("input[type=checkbox]").check();
    await row(page, "picked/").locator("input[type=checkbox]").check();
    await page.getByRole("button", { name: "Delete selected…" }).click();
    await assertVisibleText(page.locator("main"), "folder/ (folder, everything in it)");
    await shot(page, "15-delete-confirm");
    await page.getByRole("button", { name: "Delete", exact: true }).click();
    await assertVisibleText(page.locator(".notice"), "Deleted 5 objects.");
    assert.equal(await row(page, "a.txt").count(), 0);
    assert.equal(await row(page, "folder/").count(), 0);
    assert.equal(await row(page, "big.bin").count(), 1);
  });

  await check("public switch: anonymous reads follow it", async () => {
    const anon = () => fetch(`${S3_URL}/${BUCKET}/big.bin`, { method: "HEAD" }).then((r) => r.status);
    assert.equal(await anon(), 403);
    await page.locator("details.settings summary").click();
    await page.getByRole("button", { name: /Make public/ }).click();
    await assertVisibleText(page.locator(".notice"), "The bucket is now public");
    await assertVisibleText(page.locator(".badge"), "Public");
    assert.equal(await anon(), 200);
    await page.locator("details.settings summary").click();
    await shot(page, "16-bucket-public");
    await page.getByRole("button", { name: "Make private" }).click();
    await assertVisibleText(page.locator(".badge"), "Private");
    assert.equal(await anon(), 403);
  });

  await check("usage: the bucket's charts show what the console stored and served", async () => {
    // The server meters every second here: wait for a metering with the data.
    let labels = [];
    for (let i = 0; i < 40; i++) {
      await page.goto(`${BASE}/usage`);
      const section = page.locator("section.usage").filter({ has: page.locator("h2", { hasText: BUCKET }) });
      labels = await section.locator("svg.chart").evaluateAll((svgs) => svgs.map((s) => s.getAttribute("aria-label")));
      if (labels.some((l) => /Stored: latest [1-9]/.test(l)) && labels.some((l) => /PUT: latest [^,]*, peak [1-9]/.test(l))) {
        break;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.ok(labels.some((l) => /Stored: latest 20\.0 MiB/.test(l)), `stored bytes chart: ${labels.join(" | ")}`);
    assert.ok(labels.some((l) => /PUT: latest [^,]*, peak [1-9]/.test(l)), `requests chart: ${labels.join(" | ")}`);
    await shot(page, "20-usage");
  });

  await check("phone width: the bucket page fits", async () => {
    const phone = await newPage(browser, "phone", PHONE);
    await signInAsUser(phone.page);
    await phone.page.goto(`${BASE}/buckets/${BUCKET}`);
    await row(phone.page, "big.bin").waitFor();
    await assertNoOverflow(phone.page, "object list at phone width");
    await shot(phone.page, "17-phone-objects");
    await phone.page.goto(`${BASE}/usage`);
    await phone.page.locator("svg.chart").first().waitFor();
    await assertNoOverflow(phone.page, "usage charts at phone width");
    await shot(phone.page, "21-phone-usage");
    await phone.context.close();
  });

  await check("the project root creates a read-object-only user with a console password", async () => {
    const root = await newPage(browser, "root", DESKTOP);
    const p = root.page;
    await signInAsUser(p, "root", ROOT_PASSWORD);
    await p.getByRole("link", { name: "Users" }).click();
    await p.waitForURL(/\/users$/);
    await p.getByLabel("User name").fill(READER_USER);
    await p.getByLabel(/Read objects only/).check();
    await p.getByLabel("Console password").fill(READER_PASSWORD);
    await p.getByLabel("Confirm password").fill(READER_PASSWORD);
    await p.getByRole("button", { name: "Create user" }).click();
    await p.waitForURL(/\/users\?created=reader$/);
    await assertVisibleText(p.locator(".notice"), `User ${READER_USER} created.`);
    const readerRow = p.locator("table.users tbody tr").filter({ has: p.locator("td.name", { hasText: READER_USER }) });
    await assertVisibleText(readerRow, "Set");
    await shot(p, "22-users");
    await Promise.all([p.waitForURL(/\/signin$/), p.getByRole("button", { name: "Sign out" }).click()]);
    await root.context.close();
    const phone = await newPage(browser, "root-phone", PHONE);
    await signInAsUser(phone.page, "root", ROOT_PASSWORD);
    for (const [where, file] of [["users", "23-phone-users"], ["keys", "24-phone-keys"]]) {
      await phone.page.goto(`${BASE}/${where}`);
      await assertNoOverflow(phone.page, `${where} at phone width`);
      await shot(phone.page, file);
    }
    await phone.context.close();
  });

  await check("the read-object-only user: no listing, objects open by key, no upload or delete", async () => {
    const reader = await newPage(browser, "reader", DESKTOP);
    const p = reader.page;
    await signInAsUser(p, READER_USER, READER_PASSWORD);
    await assertVisibleText(p.locator(".alert"), "does not allow listing buckets");
    await p.goto(`${BASE}/buckets/${BUCKET}`);
    await assertVisibleText(p.locator(".alert"), "does not allow listing this bucket");
    assert.equal(await p.locator("#upload").count(), 0, "no upload zone");
    await shot(p, "18-reader-bucket");
    await p.getByLabel("Object key").fill("big.bin");
    await p.getByRole("button", { name: "Open" }).click();
    await assertVisibleText(p.locator("#object-size"), `${BIG} bytes`);
    assert.equal(await p.getByRole("button", { name: "Delete…" }).count(), 0, "no delete button");
    await shot(p, "19-reader-object");
    await Promise.all([p.waitForURL(/\/signin$/), p.getByRole("button", { name: "Sign out" }).click()]);
    await reader.context.close();
  });

  await check("sign out", async () => {
    await Promise.all([page.waitForURL(/\/signin$/), page.getByRole("button", { name: "Sign out" }).click()]);
    await page.goto(`${BASE}/buckets/${BUCKET}`);
    await page.waitForURL(/\/signin$/);
  });

  await check("no console errors, CSP violations or failed requests", async () => {
    assert.deepEqual(problems, []);
  });
});
