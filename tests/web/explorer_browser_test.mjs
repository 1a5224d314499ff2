// The explorer (client/web/, embedded in pbnode) in a real browser: Debian's
// chromium, headless, driven by playwright-core from tools/node_modules.
//
// Starts a 2-node mining devnet with tools/devnet (state in a temp dir, free
// ports), opens the "Explorer:" URL the script prints, and checks that
//  - the page's SHA-256 matches node:crypto (all padding boundaries) and its
//    address text matches pbtool's for the devnet's keys;
//  - new blocks appear in the live chain WITHOUT a reload (the SSE stream);
//  - searching the txid of a real transfer (pbcli send) shows that txid, its
//    amount and its recipient; the recipient's address view shows the balance
//    and lists the transfer in its history;
//  - search by height opens that block, which links the transfer's txid; a
//    data record (pbcli put) is shown in its block; an unknown hash gives a
//    clear "not found";
//  - the peers and mempool views render the node's data;
//  - with a scripted gateway (page.route), a 2-block reorg leaves the replaced
//    blocks visible below the new main chain, and a side branch from
//    /v1/tips is drawn (real reorgs cannot be made to order);
//  - searching text with a '%' (e.g. "50%") gives "not found", not an error
//    (the route is decoded once);
// and saves screenshots (printed paths; explorer.png is the live chain). The
// devnet and chromium are always stopped and the temp dir removed; on failure
// the devnet's logs are printed. pbcli is built with the rest of the tree, so
// a missing pbcli fails the test like a missing pbnode.
//
//   node tests/web/explorer_browser_test.mjs --bin-dir build/bin \
//        --artifacts build/test-artifacts
import { spawn, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), [])
);
const binDir = path.resolve(args['bin-dir'] || path.join(root, 'build/bin'));
const artifacts = path.resolve(args.artifacts || path.join(root, 'build/test-artifacts'));
const chromiumPath = process.env.PBCHAIN_CHROMIUM || '/usr/bin/chromium';

const log = (...a) => console.log('explorer_browser_test:', ...a);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

class Failure extends Error {}
function check(cond, msg) {
  if (!cond) throw new Failure(msg);
}

/** Resolves when `pred()` is truthy (returns it), polling; throws after timeoutMs. */
async function waitFor(what, pred, timeoutMs, everyMs = 250) {
  const end = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await pred();
      if (last) return last;
    } catch (e) {
      if (e instanceof Failure) throw e; // a check failed: no point waiting
      last = e;
    }
    if (Date.now() > end) throw new Failure('timed out after ' + timeoutMs / 1000 + ' s waiting for ' + what + (last instanceof Error ? ' (' + last.message + ')' : ''));
    await sleep(everyMs);
  }
}

/** A base port P with P..P+2 and P+11..P+12 free on 127.0.0.1 (tracker, nodes, HTTP). */
async function freePorts() {
  const tryBind = (port) =>
    new Promise((resolve) => {
      const s = net.createServer();
      s.once('error', () => resolve(null));
      s.listen(port, '127.0.0.1', () => resolve(s));
    });
  for (let attempt = 0; attempt < 200; attempt++) {
    const base = 20000 + Math.floor(Math.random() * 40000);
    const servers = [];
    let ok = true;
    for (const p of [base, base + 1, base + 2, base + 11, base + 12]) {
      const s = await tryBind(p);
      if (!s) {
        ok = false;
        break;
      }
      servers.push(s);
    }
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    if (ok) return base;
  }
  throw new Failure('no free ports');
}

async function getJson(url) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(url + ' answered ' + res.status);
  return res.json();
}

// ---------------------------------------------------------------------------

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pbchain_explorer_test.'));
const state = path.join(tmp, 'devnet');
const devnetOut = path.join(tmp, 'devnet.out');
let devnet = null;
let browser = null;
let failed = false;

function printLogs() {
  const show = (f, tail) => {
    if (!fs.existsSync(f)) return;
    const lines = fs.readFileSync(f, 'utf8').split('\n');
    console.error('--- ' + f + (tail ? ' (last ' + tail + ' lines)' : '') + ' ---');
    console.error((tail ? lines.slice(-tail) : lines).join('\n'));
  };
  show(devnetOut);
  if (fs.existsSync(state)) for (const f of fs.readdirSync(state).filter((f) => f.endsWith('.log')).sort()) show(path.join(state, f), 30);
}

/** SIGINT to tools/devnet (it stops the nodes, then the tracker), then wait. */
async function stopDevnet() {
  if (!devnet || devnet.exitCode !== null || devnet.signalCode !== null) return;
  const exited = new Promise((r) => devnet.once('exit', r));
  devnet.kill('SIGINT');
  const done = await Promise.race([exited.then(() => true), sleep(60000).then(() => false)]);
  if (!done) {
    log('tools/devnet did not stop within 60 s of SIGINT; killing what it started');
    for (const f of fs.existsSync(state) ? fs.readdirSync(state).filter((f) => f.endsWith('.pid')) : []) {
      try {
        process.kill(Number(fs.readFileSync(path.join(state, f), 'utf8')), 'SIGKILL');
      } catch (e) {
        /* already gone */
      }
    }
    devnet.kill('SIGKILL');
    await exited;
  }
}

async function main() {
  for (const b of ['pbnode', 'pbtracker', 'pbtool', 'pbcli']) check(fs.existsSync(path.join(binDir, b)), path.join(binDir, b) + ' is missing (build it first)');
  check(fs.existsSync(chromiumPath), chromiumPath + ' is missing (tools/install-deps.sh installs Debian\'s chromium)');
  let chromium;
  try {
    ({ chromium } = createRequire(path.join(root, 'tools/node_modules/'))('playwright-core'));
  } catch (e) {
    throw new Failure('playwright-core is missing from tools/node_modules (run bash tools/npm-install.sh): ' + e.message);
  }

  // --- the devnet ----------------------------------------------------------
  const base = await freePorts();
  const httpBase = base + 10;
  const out = fs.openSync(devnetOut, 'w');
  devnet = spawn('bash', [path.join(root, 'tools/devnet'), '2'], {
    env: {
      ...process.env,
      PBCHAIN_DEVNET_BIN: binDir,
      PBCHAIN_DEVNET_DIR: state,
      PBCHAIN_DEVNET_TRACKER: '127.0.0.1:' + base,
      PBCHAIN_DEVNET_BASE_PORT: String(base),
      PBCHAIN_DEVNET_HTTP_BASE_PORT: String(httpBase),
    },
    stdio: ['ignore', out, out],
  });
  fs.closeSync(out);
  const explorer = await waitFor(
    'the "Explorer:" line of tools/devnet',
    () => {
      check(devnet.exitCode === null, 'tools/devnet exited early with ' + devnet.exitCode);
      const m = /^Explorer: (http:\/\/\S+)/m.exec(fs.readFileSync(devnetOut, 'utf8'));
      return m && m[1];
    },
    90000
  );
  log('devnet up; explorer at', explorer);
  check(explorer === 'http://127.0.0.1:' + (httpBase + 1) + '/', 'explorer URL ' + explorer + ' is not node1\'s HTTP address');
  const api = explorer.replace(/\/$/, '');
  const nodeGrpc = '127.0.0.1:' + (base + 1);

  // --- the browser ---------------------------------------------------------
  browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox', '--headless=new'] });
  const page = await browser.newPage({ viewport: { width: 1360, height: 1000 } });
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/status of (404|501)/.test(m.text())) log('browser console error:', m.text());
  });
  let navigations = 0;
  page.on('framenavigated', (f) => {
    if (f === page.mainFrame()) navigations++;
  });
  await page.goto(explorer);
  const title = await page.title();
  check(/pbchain explorer/.test(title), 'page title is "' + title + '"');

  // SHA-256 and address text in the page against node:crypto and pbtool.
  const inputs = [];
  for (let n = 0; n <= 130; n++) inputs.push(Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + n) & 255)).toString('hex'));
  inputs.push(Buffer.from('abc').toString('hex'));
  const pageHashes = await page.evaluate((list) => list.map((x) => PB.hex(PB.sha256(PB.hexToBytes(x)))), inputs);
  inputs.forEach((x, i) => check(pageHashes[i] === createHash('sha256').update(Buffer.from(x, 'hex')).digest('hex'), 'page SHA-256 differs for input of ' + x.length / 2 + ' bytes'));
  check(pageHashes[pageHashes.length - 1] === 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad', 'SHA-256("abc") vector');
  for (const key of ['miner.json', 'wallet.json']) {
    const k = JSON.parse(fs.readFileSync(path.join(state, key), 'utf8'));
    const got = await page.evaluate((b64) => PB.addressFromPubkey(b64), Buffer.from(k.public_key, 'hex').toString('base64'));
    check(got === k.address, 'page address of ' + key + ' public key: ' + got + ' != ' + k.address);
    check((await page.evaluate((a) => PB.parseAddress(a.toUpperCase().replace(/^PB/, 'pb')), k.address)) === k.address, 'parseAddress of upper-case hex');
    const typo = k.address.slice(0, -1) + (k.address.endsWith('0') ? '1' : '0');
    check((await page.evaluate((a) => PB.parseAddress(a), typo)) === null, 'parseAddress accepted a bad checksum');
  }
  log('page SHA-256 matches node:crypto on', inputs.length, 'inputs; address text matches pbtool');

  // --- live blocks without reload -------------------------------------------
  await page.evaluate(() => (window.__noReloadMarker = 42));
  const navsBefore = navigations;
  const mainHeights = () =>
    page.$$eval('#chain-grid li.chain-block[data-kind="main"]', (els) => els.map((e) => Number(e.dataset.height)));
  const first = await waitFor('block cards in the live chain', async () => {
    const hs = await mainHeights();
    return hs.length ? Math.max(...hs) : 0;
  }, 30000);
  await waitFor('the live indicator', async () => (await page.getAttribute('#live', 'data-state')) === 'live', 20000);
  log('first tip shown: #' + first);
  const later = await waitFor('a block card above #' + first, async () => {
    const hs = await mainHeights();
    const m = Math.max(...hs);
    return m > first + 1 ? m : 0;
  }, 90000);
  check((await page.evaluate(() => window.__noReloadMarker)) === 42 && navigations === navsBefore, 'the page reloaded');
  const heightsNow = (await mainHeights()).sort((a, b) => a - b);
  for (let i = 1; i < heightsNow.length; i++) check(heightsNow[i] === heightsNow[i - 1] + 1, 'main-chain cards are not consecutive: ' + heightsNow.join(','));
  const statHeight = Number(await page.getAttribute('#st-height', 'data-value'));
  check(statHeight >= first, 'status bar height ' + statHeight + ' below the first tip ' + first);
  log('new blocks appeared without reload: #' + first + ' -> #' + later);

  // --- a real transfer, found by searching its txid ---------------------------
  execFileSync(path.join(binDir, 'pbtool'), ['keygen', '--out', path.join(tmp, 'recipient.json')]);
  const recipient = JSON.parse(fs.readFileSync(path.join(tmp, 'recipient.json'), 'utf8')).address;
  const pbcli = path.join(binDir, 'pbcli');
  // --no-wait: the search may find it in the mempool or already mined.
  const outText = execFileSync(pbcli, ['--node', nodeGrpc, '--wallet', path.join(state, 'wallet.json'), '--json', 'send', recipient, '5', '--no-wait'], {
    encoding: 'utf8',
    timeout: 60000,
  });
  const sent = JSON.parse(outText);
  const txid = sent.txid;
  check(/^[0-9a-f]{64}$/.test(txid || ''), 'no txid in pbcli output: ' + outText);
  const amount = '5';
  log('pbcli sent 5 to', recipient, 'txid', txid, '(' + sent.outcome + ')');

  const search = async (q) => {
    await page.fill('#search-input', q);
    await page.press('#search-input', 'Enter');
  };
  await search(txid);
  await page.waitForSelector('[data-field="txid"]', { timeout: 15000 });
  await waitFor('the transaction view', async () => (await page.textContent('[data-field="txid"]')).trim() === txid, 15000);
  const shownAmount = await page.getAttribute('[data-field="amount"] .amount', 'data-value');
  check(shownAmount === amount, 'transaction view amount ' + shownAmount + ' != ' + amount);
  const shownRecipient = (await page.textContent('[data-field="recipient"] dd')).trim();
  check(shownRecipient === recipient, 'transaction view recipient ' + shownRecipient + ' != ' + recipient);
  check(/#\/tx\//.test(page.url()), 'search did not land on #/tx/: ' + page.url());
  await page.screenshot({ path: path.join(artifacts, 'explorer-tx.png'), fullPage: true });
  log('search found the transaction: amount', shownAmount, 'to', shownRecipient);

  // The recipient's address view shows the balance once the transfer is mined.
  const wantBalance = '5';
  await page.click('[data-field="recipient"] a');
  const balance = await waitFor(
    'the address view with a balance of ' + wantBalance,
    async () => {
      await page.waitForSelector('[data-field="balance"] .amount', { timeout: 5000 });
      const v = await page.getAttribute('[data-field="balance"] .amount', 'data-value');
      if (v === wantBalance) return v;
      await search(shownRecipient); // not mined yet: look again
      await sleep(1500);
      return null;
    },
    60000,
    100
  );
  check((await page.textContent('[data-field="address"]')).trim() === shownRecipient, 'address view shows another address');
  log('address view shows balance', balance);
  // Its history (GET /v1/accounts/{a}/history) lists the transfer.
  await page.waitForSelector('#addr-history a[href="#/tx/' + txid + '"]', { timeout: 15000 });
  check(/received/.test(await page.textContent('#addr-history')), 'the history does not call the transfer "received"');
  log('address history lists the transfer as received');

  // Search by height; the transfer's block lists its txid.
  const tx = await getJson(api + '/v1/txs/' + txid);
  check(!tx.inMempool, 'the transfer is still in the mempool after its recipient got a balance');
  await search(String(tx.blockHeight));
  await waitFor('the block view of #' + tx.blockHeight, async () => (await page.textContent('[data-field="height"] dd')).replace(/\s/g, '') === String(tx.blockHeight), 15000);
  check(await page.$('a[href="#/tx/' + txid + '"]'), 'block #' + tx.blockHeight + ' does not link the transaction ' + txid);
  log('search by height opened block #' + tx.blockHeight + ', which links the transaction');

  // A data record (pbcli put, waits for its block) in its block's view.
  const put = JSON.parse(
    execFileSync(pbcli, ['--node', nodeGrpc, '--wallet', path.join(state, 'wallet.json'), '--json', 'put', 'explorer.test', 'greeting', 'hello from the browser test'], { encoding: 'utf8', timeout: 90000 })
  );
  check(put.outcome === 'confirmed' && put.block_height != null, 'pbcli put: ' + JSON.stringify(put));
  await search(String(put.block_height));
  await waitFor('the block view of #' + put.block_height, async () => (await page.textContent('[data-field="height"] dd')).replace(/\s/g, '') === String(put.block_height), 15000);
  const records = await page.textContent('#main');
  check(records.includes('Data records') && records.includes('explorer.test') && records.includes('greeting') && records.includes('hello from the browser test'),
    'block #' + put.block_height + ' does not show the data record (namespace, key, payload as text)');
  log('block #' + put.block_height + ' shows the data record explorer.test/greeting');

  // An unknown hash: a clear "not found".
  await search('ab'.repeat(32));
  await page.waitForSelector('[data-notfound]', { timeout: 15000 });
  check(/not found/i.test(await page.textContent('[data-notfound]')), 'no "not found" text');
  check(/not found/i.test(await page.textContent('#search-message')), 'no "not found" search message');

  // Text with a '%' is searched as typed: "not found" naming it, not an
  // error from decoding the route twice ("URI malformed").
  await page.click('a.brand');
  await page.waitForSelector('#home-latest', { timeout: 15000 });
  await search('50%');
  const percentText = await waitFor('the answer to searching "50%"', async () => {
    const t = await page.textContent('#main');
    return /Not found|Something went wrong/.test(t) && t;
  }, 15000);
  check(percentText.includes('“50%”') && !/Something went wrong|malformed/i.test(percentText), 'searching "50%" did not give "not found" for 50%: ' + percentText.slice(0, 300));
  log('searching "50%" gives "not found" for 50%');

  // Peers and mempool.
  await page.click('a[data-nav="peers"]');
  await waitFor('a connected peer row', async () => /127\.0\.0\.1:\d+/.test(await page.textContent('#main')), 15000);
  await page.click('a[data-nav="mempool"]');
  await waitFor('the mempool view', async () => /Mempool/.test(await page.textContent('#main h2')), 15000);

  // --- screenshot of the live chain --------------------------------------------
  await page.click('a.brand');
  await page.waitForSelector('#home-latest table', { timeout: 15000 });
  await sleep(1500);
  const shot = path.join(artifacts, 'explorer.png');
  await page.screenshot({ path: shot, fullPage: true });
  log('screenshot:', shot);
  log('screenshot of the transaction view:', path.join(artifacts, 'explorer-tx.png'));

  check(pageErrors.length === 0, 'uncaught errors in the page: ' + pageErrors.join(' | '));

  await reorgScenario(browser, explorer);
}

/**
 * Reorganisations and side branches cannot be made to order on a live devnet,
 * so this part gives the page (still served by the real pbnode) a scripted
 * gateway: page.route answers /v1/ with a small chain A0..A10 and a side
 * branch C6 (off A5) listed by /v1/tips; the event stream then reports a
 * 2-block reorg to B9..B11 (B9's parent is A8). The page must keep A9 and A10
 * visible as "replaced", show C6 as a side branch, and B9..B11 as the main
 * chain, all linked to their parents.
 */
async function reorgScenario(browser, explorer) {
  const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const hashOf = (name) => createHash('sha256').update('pbchain explorer test ' + name).digest();
  const b64 = (buf) => buf.toString('base64');
  const disp = (name) => Buffer.from(hashOf(name)).reverse().toString('hex');
  const t0 = Math.floor(Date.now() / 1000) - 60;
  const block = (name, parent, height) => ({
    height: String(height),
    hash: b64(hashOf(name)),
    block: {
      header: { version: 1, prevHash: parent ? b64(hashOf(parent)) : b64(Buffer.alloc(32)), merkleRoot: b64(hashOf('m' + name)), time: t0 + height * 2, bits: 0x1f00ffff, nonce: height },
      transactions: [{ version: 1, kind: 'TRANSACTION_KIND_COINBASE', chainId: 'test', senderPubkey: '', recipient: b64(Buffer.alloc(20, 7)), amount: '50', fee: '0', nonce: '0', height: String(height), extraNonce: '0', signature: '' }],
    },
  });
  const chainA = Array.from({ length: 11 }, (_, h) => block('A' + h, h ? 'A' + (h - 1) : null, h));
  const chainB = chainA.slice(0, 9).concat([block('B9', 'A8', 9), block('B10', 'B9', 10), block('B11', 'B10', 11)]);
  const sideC6 = block('C6', 'A5', 6);
  let reorged = false;
  let streams = 0;
  const json = (route, body, status = 200) => route.fulfill({ status, contentType: 'application/json', body: JSON.stringify(body) });
  const tipEvent = (b, prev, depth) =>
    'event: tip\ndata: ' + JSON.stringify({ hash: b.hash, height: b.height, header: b.block.header, chainWork: '1', reorgDepth: depth, previousTipHash: prev.hash, txCount: 1 }) + '\n\n';
  await page.route('**/v1/**', async (route) => {
    const url = new URL(route.request().url());
    const chain = reorged ? chainB : chainA;
    const tip = chain[chain.length - 1];
    const p = url.pathname;
    if (p === '/v1/events/tips') {
      streams++;
      if (streams === 1) return route.fulfill({ status: 200, contentType: 'text/event-stream', body: 'retry: 300\n' + tipEvent(tip, chain[chain.length - 2], 0) });
      if (streams === 2) {
        reorged = true;
        return route.fulfill({ status: 200, contentType: 'text/event-stream', body: 'retry: 300\n' + tipEvent(chainB[11], chainA[10], 2) });
      }
      return route.fulfill({ status: 204, body: '' }); // no more events
    }
    if (p === '/v1/info') return json(route, { height: tip.height, tipHash: tip.hash, chainWork: '1', networkHashRate: 1, localHashRate: 0, peerCount: 0, genesisHash: chainA[0].hash, chainId: 'test', version: 'scripted', protocolVersion: 1, role: 'PEER_ROLE_FULL', nodeId: 'scripted', mempoolSize: '0', mempoolBytes: '0', mining: false, syncing: false, tipTime: tip.block.header.time, tipBits: 0 });
    if (p === '/v1/blocks') return json(route, { blocks: chain, tipHeight: tip.height });
    if (p === '/v1/tips') {
      return json(route, { tips: [
        { hash: tip.hash, height: tip.height, branchLength: '0', forkHash: tip.hash, status: 'CHAIN_TIP_STATUS_ACTIVE', chainWork: '1', time: tip.block.header.time },
        { hash: sideC6.hash, height: '6', branchLength: '1', forkHash: chainA[5].hash, status: 'CHAIN_TIP_STATUS_VALID_FORK', chainWork: '1', time: sideC6.block.header.time },
      ] });
    }
    const m = /^\/v1\/blocks\/([0-9a-f]{64})$/.exec(p);
    if (m) {
      const all = [...chainA, ...chainB, sideC6];
      const b = all.find((x) => Buffer.from(x.hash, 'base64').reverse().toString('hex') === m[1]);
      if (!b) return json(route, { code: 5, status: 'NOT_FOUND', message: 'unknown block' }, 404);
      return json(route, { block: b.block, hash: b.hash, height: b.height, inMainChain: chain.includes(b), confirmations: '0', sizeBytes: '100', txids: [b64(hashOf('tx' + b.hash))] });
    }
    return json(route, { code: 12, status: 'UNIMPLEMENTED', message: '' }, 501);
  });
  try {
    await page.goto(explorer);
    const kindOf = (name) => page.getAttribute('#chain-grid li[data-hash="' + disp(name) + '"]', 'data-kind', { timeout: 1000 }).catch(() => null);
    await waitFor('the scripted reorg to reach the page', async () => (await kindOf('B11')) === 'main', 20000);
    for (const n of ['B9', 'B10', 'B11', 'A8']) check((await kindOf(n)) === 'main', n + ' is not shown on the main chain after the reorg');
    for (const n of ['A9', 'A10']) check((await kindOf(n)) === 'orphan', n + ' is not shown as replaced after the reorg (got ' + (await kindOf(n)) + ')');
    await waitFor('the side branch C6', async () => (await kindOf('C6')) === 'side', 10000);
    const rowOf = (n) => page.$eval('#chain-grid li[data-hash="' + disp(n) + '"]', (e) => e.style.gridRow);
    check((await rowOf('B10')) === '1' && (await rowOf('A10')) !== '1' && (await rowOf('C6')) !== '1', 'replaced and side blocks are not on rows below the main chain');
    check(/Reorganisation/.test(await page.textContent('#chain-note')), 'no reorganisation note');
    const links = await page.$$eval('#chain-links path.link-orphan, #chain-links path.link-side', (els) => els.length);
    check(links >= 3, 'expected links for the replaced blocks and the side branch, found ' + links);
    await page.screenshot({ path: path.join(artifacts, 'explorer-reorg.png') });
    check(errors.length === 0, 'uncaught errors in the page (reorg scenario): ' + errors.join(' | '));
    log('scripted reorg: A9, A10 shown as replaced below B9..B11; side branch C6 shown; screenshot', path.join(artifacts, 'explorer-reorg.png'));
  } finally {
    await page.close();
  }
}

fs.mkdirSync(artifacts, { recursive: true });
try {
  await main();
  log('OK');
} catch (e) {
  failed = true;
  console.error('explorer_browser_test: FAIL:', e instanceof Failure ? e.message : e.stack || e);
} finally {
  if (browser) await browser.close().catch(() => {});
  await stopDevnet();
  if (failed) printLogs();
  fs.rmSync(tmp, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
