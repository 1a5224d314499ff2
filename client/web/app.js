// app.js: the pbchain explorer. Talks only to the HTTP/JSON gateway of the
// pbnode that serves it (same origin): /v1/... routes (protobuf JSON) and the
// server-sent event stream /v1/events/tips for live tips. Views are chosen by
// the URL fragment: #/, #/block/<hash|height>, #/tx/<txid>, #/address/<addr>,
// #/mempool, #/peers, #/search/<text>.
(function () {
  'use strict';
  const PB = window.PB;
  const $ = (id) => document.getElementById(id);

  // ---------------------------------------------------------------------------
  // Small helpers

  /**
   * Builds an element: h('a', {href: '#/', class: 'x', dataset: {k: v}}, child...).
   * Children are nodes or strings (always inserted as text); null/false skipped.
   */
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    if (attrs) {
      for (const [k, v] of Object.entries(attrs)) {
        if (v == null || v === false) continue;
        if (k === 'class') el.className = v;
        else if (k === 'dataset') Object.assign(el.dataset, v);
        else if (k === 'text') el.textContent = v;
        else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
        else el.setAttribute(k, v === true ? '' : v);
      }
    }
    for (const c of children.flat()) {
      if (c == null || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }

  /** An error answer of the gateway: HTTP status plus its JSON error body. */
  class ApiError extends Error {
    constructor(httpStatus, body) {
      const grpc = body && body.status ? body.status : 'HTTP ' + httpStatus;
      super((body && body.message) || grpc);
      this.httpStatus = httpStatus;
      this.grpcStatus = grpc;
    }
  }

  /** GET a gateway route and return its JSON; throws ApiError on non-2xx. */
  async function api(path) {
    let res;
    try {
      res = await fetch(path, { headers: { Accept: 'application/json' }, cache: 'no-store' });
    } catch (e) {
      throw new ApiError(0, { status: 'UNREACHABLE', message: 'the node did not answer (' + e.message + ')' });
    }
    let body = null;
    try {
      body = await res.json();
    } catch (e) {
      body = null;
    }
    if (!res.ok) throw new ApiError(res.status, body);
    return body || {};
  }

  const isNotFound = (e) => e instanceof ApiError && e.httpStatus === 404;
  const isUnimplemented = (e) => e instanceof ApiError && e.httpStatus === 501;

  const hashLink = (hash, text) =>
    h('a', { class: 'mono hash', href: '#/block/' + hash, title: hash }, text || hash);
  const txLink = (txid, text) => h('a', { class: 'mono hash', href: '#/tx/' + txid, title: txid }, text || txid);
  const addrLink = (addr, text) =>
    addr ? h('a', { class: 'mono addr', href: '#/address/' + addr, title: addr }, text || addr) : h('span', { class: 'muted' }, '—');
  const amount = (v, cls) =>
    h('span', { class: 'amount' + (cls ? ' ' + cls : ''), dataset: { value: String(v == null ? '0' : v) } }, PB.groupDigits(v));
  const ageSpan = (unixMs) =>
    h('time', { class: 'age', dataset: { ms: String(unixMs) }, datetime: new Date(unixMs).toISOString(), title: new Date(unixMs).toString() }, PB.age(unixMs));

  /** A <dl> of [label, value, fieldName] rows (value: node or text). */
  function fields(rows) {
    return h(
      'dl',
      { class: 'fields' },
      rows.filter(Boolean).map(([label, value, name]) =>
        h('div', { class: 'field', dataset: name ? { field: name } : null }, h('dt', null, label), h('dd', null, value))
      )
    );
  }

  /** A table with a caption (visually hidden unless shown), header row and body rows. */
  function table(caption, headers, rows, opts) {
    opts = opts || {};
    return h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { class: 'table' + (opts.class ? ' ' + opts.class : '') },
        h('caption', { class: opts.showCaption ? '' : 'visually-hidden' }, caption),
        h('thead', null, h('tr', null, headers.map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', null, rows.length ? rows : h('tr', null, h('td', { colspan: headers.length, class: 'empty' }, opts.empty || 'Nothing here.')))
      )
    );
  }

  /** Replaces el's children, skipping null/false (replaceChildren would print "null"). */
  function fill(el, ...kids) {
    el.replaceChildren(...kids.flat().filter((k) => k != null && k !== false));
  }

  const panel = (title, ...body) => h('section', { class: 'panel' }, title ? h('h2', null, title) : null, body);
  const note = (text, kind) => h('p', { class: 'note' + (kind ? ' note-' + kind : ''), role: kind === 'error' ? 'alert' : null }, text);

  function errorText(e) {
    if (!(e instanceof ApiError)) return String(e && e.message ? e.message : e);
    return e.httpStatus ? 'The node answered ' + e.httpStatus + ' ' + e.grpcStatus + ': ' + e.message : e.message;
  }

  /** Payload or key bytes as text (when printable) or hex, truncated. */
  function bytesView(b64, limit) {
    const bytes = PB.b64ToBytes(b64);
    limit = limit || 4096;
    const text = PB.printable(bytes);
    if (text !== null) {
      const cut = text.length > limit;
      return h('span', { class: 'bytes bytes-text' }, h('q', null, cut ? text.slice(0, limit) : text), cut ? h('span', { class: 'muted' }, ' … (' + bytes.length + ' bytes)') : null);
    }
    const hex = PB.hex(bytes.subarray(0, limit / 2));
    return h('span', { class: 'bytes bytes-hex mono' }, h('span', { class: 'tag' }, 'hex'), ' ', hex, bytes.length > limit / 2 ? h('span', { class: 'muted' }, ' … (' + bytes.length + ' bytes)') : null);
  }

  /** A short summary of a transaction for tables: from, to, amounts. */
  function txParts(tx) {
    const coinbase = PB.isCoinbase(tx);
    return {
      coinbase,
      from: coinbase ? '' : PB.addressFromPubkey(tx.senderPubkey),
      to: PB.addressFromB64(tx.recipient),
      amount: tx.amount || '0',
      fee: tx.fee || '0',
      record: tx.record || null,
    };
  }

  function recordSummary(rec) {
    if (!rec) return h('span', { class: 'muted' }, '—');
    const key = rec.key != null ? PB.printable(PB.b64ToBytes(rec.key)) : null;
    return h(
      'span',
      { class: 'record-chip', title: 'data record' },
      h('span', { class: 'ns' }, rec.namespace),
      rec.key != null ? h('span', { class: 'key' }, '/', key !== null ? key : PB.short(PB.hex(PB.b64ToBytes(rec.key)), 8, 4)) : null
    );
  }

  // ---------------------------------------------------------------------------
  // Theme

  (function theme() {
    const root = document.documentElement;
    const saved = localStorage.getItem('pbchain-theme');
    if (saved === 'light' || saved === 'dark') root.dataset.theme = saved;
    $('theme-toggle').addEventListener('click', () => {
      const dark = root.dataset.theme ? root.dataset.theme === 'dark' : matchMedia('(prefers-color-scheme: dark)').matches;
      root.dataset.theme = dark ? 'light' : 'dark';
      localStorage.setItem('pbchain-theme', root.dataset.theme);
      drawLinks();
    });
  })();

  // ---------------------------------------------------------------------------
  // Node info (status bar)

  const state = { info: null, view: null, viewTimer: 0, renderToken: 0 };

  async function refreshInfo() {
    try {
      const info = await api('/v1/info');
      state.info = info;
      $('st-chain').textContent = info.chainId || '?';
      $('st-height').textContent = PB.groupDigits(info.height);
      $('st-height').dataset.value = info.height;
      $('st-age').replaceChildren(info.tipTime ? ageSpan(info.tipTime * 1000) : '—');
      $('st-rate').textContent = PB.hashRate(info.networkHashRate);
      $('st-peers').textContent = String(info.peerCount || 0);
      $('st-mempool').textContent = PB.groupDigits(info.mempoolSize) + ' tx';
      const flags = [PB.enumName(info.role, 'PEER_ROLE_'), info.mining ? 'mining' : null, info.syncing ? 'syncing' : null].filter(Boolean);
      $('st-node').textContent = (info.version || '?') + ' · ' + flags.join(', ');
      $('ft-node').textContent = (info.version || 'pbnode') + ' (node ' + PB.short(info.nodeId || '', 8, 4) + ')';
      document.title = 'pbchain explorer · ' + (info.chainId || '') + ' #' + info.height;
      if (state.view === views.home) views.home.fill();
    } catch (e) {
      $('st-node').textContent = 'unreachable';
    }
  }

  // ---------------------------------------------------------------------------
  // The live chain: main-chain blocks left to right, side branches and blocks
  // replaced by reorganisations on rows below, linked to their parents.

  const MAIN_WINDOW = 24; // main-chain blocks shown
  const chain = {
    blocks: new Map(), // display hash -> {hash, prev, height, time, txCount, kind, fresh}
    tipHash: '',
    tipHeight: -1,
    tipsSupported: null,
    tips: [],
    els: new Map(), // display hash -> <li>
    reloading: null,
  };

  function putBlock(b, kind) {
    const old = chain.blocks.get(b.hash);
    if (old) {
      old.kind = kind;
      if (b.txCount != null) old.txCount = b.txCount;
      return old;
    }
    const nb = Object.assign({ fresh: chain.tipHeight >= 0 }, b, { kind });
    chain.blocks.set(b.hash, nb);
    return nb;
  }

  const fromListItem = (it) => ({
    hash: PB.displayHash(it.hash),
    prev: PB.displayHash(it.block && it.block.header ? it.block.header.prevHash : ''),
    height: Number(it.height),
    time: it.block && it.block.header ? Number(it.block.header.time) : 0,
    txCount: it.block && it.block.transactions ? it.block.transactions.length : 0,
  });

  function setNote(text) {
    $('chain-note').textContent = text || '';
  }

  /**
   * Loads the newest main-chain blocks and reconciles: a block we showed on
   * the main chain at a height now held by another block was replaced.
   */
  async function loadRecent() {
    if (chain.reloading) return chain.reloading;
    chain.reloading = (async () => {
      try {
        const res = await api('/v1/blocks');
        const list = (res.blocks || []).map(fromListItem);
        if (!list.length) return;
        const byHeight = new Map(list.map((b) => [b.height, b.hash]));
        const tip = list[list.length - 1];
        for (const b of chain.blocks.values()) {
          if (b.kind !== 'main') continue;
          if (b.height > tip.height || (byHeight.has(b.height) && byHeight.get(b.height) !== b.hash)) b.kind = 'orphan';
        }
        for (const b of list) putBlock(b, 'main');
        chain.tipHash = tip.hash;
        chain.tipHeight = tip.height;
      } catch (e) {
        setNote('Could not load blocks: ' + errorText(e));
      } finally {
        chain.reloading = null;
      }
    })();
    return chain.reloading;
  }

  /** Loads branch tips (/v1/tips) and the side-branch blocks near the shown window. */
  async function loadTips() {
    let res;
    try {
      res = await api('/v1/tips?limit=20');
    } catch (e) {
      if (isUnimplemented(e)) chain.tipsSupported = false;
      return;
    }
    chain.tipsSupported = true;
    chain.tipsLoadedAt = Date.now();
    chain.tips = res.tips || [];
    const low = chain.tipHeight - MAIN_WINDOW;
    for (const t of chain.tips) {
      if (t.status === 'CHAIN_TIP_STATUS_ACTIVE' || t.status === 1) continue;
      const kind = t.status === 'CHAIN_TIP_STATUS_INVALID' || t.status === 3 ? 'invalid' : 'side';
      let hash = PB.displayHash(t.hash);
      let height = Number(t.height);
      if (height < low) continue;
      // Walk the branch back to the main chain (at most 12 blocks per branch).
      for (let i = 0; i < Math.min(Number(t.branchLength) || 1, 12) && height > low; i++) {
        let b = chain.blocks.get(hash);
        if (b && b.kind === 'main') break;
        if (!b) {
          try {
            const r = await api('/v1/blocks/' + hash);
            if (r.inMainChain) break;
            b = putBlock(
              {
                hash,
                prev: PB.displayHash(r.block.header.prevHash),
                height: Number(r.height),
                time: Number(r.block.header.time),
                txCount: (r.block.transactions || []).length,
              },
              kind
            );
            b.fresh = false;
          } catch (e) {
            break;
          }
        } else if (b.kind !== 'orphan') {
          b.kind = kind;
        }
        hash = b.prev;
        height = b.height - 1;
      }
    }
  }

  /** Handles one WatchTips event from the SSE stream. */
  async function onTip(ev) {
    const hash = PB.displayHash(ev.hash);
    const height = Number(ev.height);
    const prevTip = PB.displayHash(ev.previousTipHash);
    const depth = Number(ev.reorgDepth || 0);
    if (hash === chain.tipHash) return; // include_current's first event, or a repeat
    if (depth > 0) {
      // Walk back from the old tip: those blocks left the main chain.
      let h0 = prevTip;
      for (let i = 0; i < depth && h0; i++) {
        const b = chain.blocks.get(h0);
        if (!b) break;
        b.kind = 'orphan';
        h0 = b.prev;
      }
      await loadRecent();
      await loadTips();
      setNote('Reorganisation at ' + new Date().toLocaleTimeString() + ': ' + depth + ' block' + (depth > 1 ? 's' : '') +
        ' replaced; new tip #' + height + '. Replaced blocks stay below, marked “replaced”.');
    } else if (prevTip === chain.tipHash && height === chain.tipHeight + 1 && ev.header) {
      putBlock(
        { hash, prev: PB.displayHash(ev.header.prevHash), height, time: Number(ev.header.time), txCount: Number(ev.txCount || 0) },
        'main'
      );
      chain.tipHash = hash;
      chain.tipHeight = height;
      // Keep the branch tips current too, at most every 3 s.
      if (chain.tipsSupported !== false && Date.now() - (chain.tipsLoadedAt || 0) > 3000) await loadTips();
    } else {
      await loadRecent(); // missed tips (a slow reader may skip some): reload
      await loadTips();
    }
    renderChain();
    refreshInfo();
    if (state.view && state.view.onTip) state.view.onTip();
  }

  /** Live updates: SSE first; polling /v1/info when the stream is unavailable. */
  function startLive() {
    const live = $('live');
    let pollTimer = 0;
    let lastPolled = -1;
    const setLive = (s, text) => {
      live.dataset.state = s;
      live.textContent = text;
    };
    const poll = async () => {
      try {
        const info = await api('/v1/info');
        if (Number(info.height) !== lastPolled || info.tipHash !== chain.lastPolledTip) {
          lastPolled = Number(info.height);
          chain.lastPolledTip = info.tipHash;
          if (PB.displayHash(info.tipHash) !== chain.tipHash) {
            await loadRecent();
            await loadTips();
            renderChain();
            if (state.view && state.view.onTip) state.view.onTip();
          }
        }
      } catch (e) {
        /* shown by refreshInfo */
      }
    };
    const connect = () => {
      if (!window.EventSource) {
        setLive('polling', 'polling every 3 s');
        pollTimer = setInterval(poll, 3000);
        return;
      }
      const es = new EventSource('/v1/events/tips');
      es.addEventListener('open', () => {
        setLive('live', 'live');
        if (pollTimer) {
          clearInterval(pollTimer);
          pollTimer = 0;
        }
      });
      es.addEventListener('tip', (m) => {
        let ev;
        try {
          ev = JSON.parse(m.data);
        } catch (e) {
          return;
        }
        chain.queue = (chain.queue || Promise.resolve()).then(() => onTip(ev)).catch(() => {});
      });
      es.addEventListener('error', () => {
        if (es.readyState === EventSource.CLOSED) {
          // The gateway refused the stream (e.g. 429 too many streams): poll,
          // and try the stream again later.
          setLive('polling', 'polling (live stream unavailable)');
          if (!pollTimer) pollTimer = setInterval(poll, 3000);
          setTimeout(connect, 15000);
        } else {
          setLive('reconnecting', 'reconnecting…');
        }
      });
    };
    connect();
  }

  // Chain drawing -------------------------------------------------------------

  function cardFor(b) {
    const ms = b.time * 1000;
    const label =
      'Block ' + b.height + ', hash ' + PB.short(b.hash, 10, 6) + ', ' + b.txCount + ' transaction' + (b.txCount === 1 ? '' : 's') +
      ', mined ' + PB.timeText(b.time) +
      (b.kind === 'orphan' ? ', replaced in a reorganisation' : b.kind === 'side' ? ', side branch' : b.kind === 'invalid' ? ', invalid branch' : '');
    const badge = { orphan: 'replaced', side: 'side branch', invalid: 'invalid' }[b.kind];
    return h(
      'a',
      { class: 'block-card', href: '#/block/' + b.hash, 'aria-label': label, title: b.hash },
      h('span', { class: 'bc-top' }, h('span', { class: 'bc-height' }, '#' + PB.groupDigits(b.height)), badge ? h('span', { class: 'bc-badge' }, badge) : null),
      h('span', { class: 'bc-hash mono' }, PB.short(b.hash, 8, 6)),
      h('span', { class: 'bc-meta' }, h('span', { class: 'bc-tx' }, b.txCount + ' tx'), h('span', { class: 'bc-time' }, PB.timeText(b.time).slice(11))),
      h('span', { class: 'bc-age' }, ageSpan(ms))
    );
  }

  function renderChain() {
    const grid = $('chain-grid');
    const scroller = $('chain-scroller');
    const atEnd = scroller.scrollLeft + scroller.clientWidth >= scroller.scrollWidth - 40;

    // Window: the newest MAIN_WINDOW main-chain blocks, and others in range.
    const mains = [...chain.blocks.values()].filter((b) => b.kind === 'main').sort((a, b) => a.height - b.height);
    const shownMains = mains.slice(-MAIN_WINDOW);
    if (!shownMains.length) return;
    const minH = shownMains[0].height;
    // Forget blocks far below the window.
    for (const [k, b] of chain.blocks) if (b.height < minH - 50) chain.blocks.delete(k);
    const others = [...chain.blocks.values()].filter((b) => b.kind !== 'main' && b.height >= minH);
    const maxH = Math.max(shownMains[shownMains.length - 1].height, ...others.map((b) => b.height));

    // Side rows: each branch (connected run of non-main blocks) gets a row
    // below the main chain, reusing rows where branches do not overlap.
    const byHash = chain.blocks;
    const rootOf = (b) => {
      let r = b;
      for (let i = 0; i < 100; i++) {
        const p = byHash.get(r.prev);
        if (!p || p.kind === 'main' || p.height < minH) break;
        r = p;
      }
      return r;
    };
    const branches = new Map(); // root hash -> {start, end, blocks}
    for (const b of others) {
      const r = rootOf(b);
      const br = branches.get(r.hash) || { start: r.height, end: r.height, blocks: [] };
      br.end = Math.max(br.end, b.height);
      br.blocks.push(b);
      branches.set(r.hash, br);
    }
    const rowEnds = []; // rowEnds[i] = last height used on row i+2
    const rowOf = new Map();
    for (const br of [...branches.values()].sort((a, b) => a.start - b.start)) {
      let r = rowEnds.findIndex((end) => end < br.start - 1);
      if (r < 0) {
        r = rowEnds.length;
        rowEnds.push(0);
      }
      rowEnds[r] = br.end;
      for (const b of br.blocks) rowOf.set(b.hash, r + 2);
    }

    grid.style.gridTemplateColumns = 'repeat(' + (maxH - minH + 1) + ', var(--card-w))';
    grid.style.gridTemplateRows = 'repeat(' + (rowEnds.length + 1) + ', auto)';
    const shown = shownMains.concat(others.sort((a, b) => a.height - b.height));
    const keep = new Set(shown.map((b) => b.hash));
    for (const [k, el] of chain.els) {
      if (!keep.has(k)) {
        el.remove();
        chain.els.delete(k);
      }
    }
    let prevEl = null;
    for (const b of shown) {
      let el = chain.els.get(b.hash);
      if (!el || el.dataset.kind !== b.kind) {
        const fresh = !el && b.fresh;
        const nel = h('li', { class: 'chain-block kind-' + b.kind + (fresh ? ' enter' : ''), dataset: { hash: b.hash, height: String(b.height), kind: b.kind } }, cardFor(b));
        if (el) el.replaceWith(nel);
        el = nel;
        chain.els.set(b.hash, el);
        if (fresh) setTimeout(() => el.classList.remove('enter'), 1600);
      }
      el.style.gridColumn = String(b.height - minH + 1);
      el.style.gridRow = String(b.kind === 'main' ? 1 : rowOf.get(b.hash) || 2);
      el.classList.toggle('is-tip', b.hash === chain.tipHash);
      el.classList.toggle('has-parent', byHash.has(b.prev) && keep.has(b.prev));
      // Keep DOM order = reading order: main chain ascending, then branches.
      if (prevEl ? prevEl.nextSibling !== el : grid.firstChild !== el) {
        if (prevEl) prevEl.after(el);
        else grid.prepend(el);
      }
      prevEl = el;
    }
    $('chain-title').textContent = 'The chain, live — tip #' + PB.groupDigits(chain.tipHeight);
    drawLinks();
    // Follow the tip unless the reader scrolled back to older blocks.
    if (atEnd || !chain.scrolledOnce) {
      chain.scrolledOnce = true;
      scroller.scrollLeft = scroller.scrollWidth;
    }
    if (chain.tipsSupported === false && !$('chain-note').textContent) {
      setNote('This node does not list side branches yet (GET /v1/tips is not implemented); reorganisations seen live are still shown.');
    }
  }

  /** Draws the links between each shown block and its shown parent (SVG). */
  function drawLinks() {
    const svg = $('chain-links');
    const canvas = $('chain-canvas');
    if (!svg || !canvas) return;
    const base = canvas.getBoundingClientRect();
    svg.setAttribute('width', canvas.scrollWidth);
    svg.setAttribute('height', canvas.scrollHeight);
    const ns = 'http://www.w3.org/2000/svg';
    const parts = [];
    for (const [hash, el] of chain.els) {
      const b = chain.blocks.get(hash);
      if (!b) continue;
      const pel = chain.els.get(b.prev);
      const r = el.getBoundingClientRect(); // the <li>: not moved by the arrival animation
      const y2 = r.top - base.top + r.height / 2;
      const x2 = r.left - base.left;
      if (!pel) {
        if (b.kind === 'main') {
          // The chain continues to the left, off screen (or genesis).
          const p = document.createElementNS(ns, 'path');
          p.setAttribute('d', 'M' + Math.max(0, x2 - 26) + ' ' + y2 + ' H' + x2);
          p.setAttribute('class', 'link link-stub');
          parts.push(p);
        }
        continue;
      }
      const pr = pel.getBoundingClientRect();
      const x1 = pr.right - base.left;
      const y1 = pr.top - base.top + pr.height / 2;
      const p = document.createElementNS(ns, 'path');
      const mx = (x1 + x2) / 2;
      p.setAttribute('d', y1 === y2 ? 'M' + x1 + ' ' + y1 + ' H' + x2 : 'M' + x1 + ' ' + y1 + ' C' + mx + ' ' + y1 + ' ' + mx + ' ' + y2 + ' ' + x2 + ' ' + y2);
      p.setAttribute('class', 'link link-' + b.kind);
      parts.push(p);
      for (const [cx, cy] of [[x1, y1], [x2, y2]]) {
        const c = document.createElementNS(ns, 'circle');
        c.setAttribute('cx', cx);
        c.setAttribute('cy', cy);
        c.setAttribute('r', 3.5);
        c.setAttribute('class', 'joint joint-' + b.kind);
        parts.push(c);
      }
    }
    svg.replaceChildren(...parts);
  }
  window.addEventListener('resize', () => drawLinks());

  // Refresh every relative time once a second.
  setInterval(() => {
    const now = Date.now();
    for (const t of document.querySelectorAll('time.age')) t.textContent = PB.age(Number(t.dataset.ms), now);
  }, 1000);

  // ---------------------------------------------------------------------------
  // Views

  const views = {};

  views.home = {
    nav: 'home',
    async render(main) {
      const latest = h('div', { id: 'home-latest' });
      const tips = h('div', { id: 'home-tips' });
      const node = h('div', { id: 'home-node' });
      fill(main, 
        h('div', { class: 'grid-2' }, panel('Latest blocks', latest), h('div', null, panel('Branch tips', tips), panel('This node', node)))
      );
      this.fill();
    },
    onTip() {
      this.fill();
    },
    async fill() {
      const latest = $('home-latest');
      if (!latest) return;
      const mains = [...chain.blocks.values()].filter((b) => b.kind === 'main').sort((a, b) => b.height - a.height).slice(0, 15);
      latest.replaceChildren(
        table(
          'Latest main-chain blocks, newest first',
          ['Height', 'Hash', 'Txs', 'Time', 'Age'],
          mains.map((b) =>
            h('tr', null,
              h('td', null, h('a', { href: '#/block/' + b.height }, PB.groupDigits(b.height))),
              h('td', null, hashLink(b.hash, PB.short(b.hash, 12, 8))),
              h('td', { class: 'num' }, String(b.txCount)),
              h('td', null, PB.timeText(b.time)),
              h('td', null, ageSpan(b.time * 1000)))
          ),
          { empty: 'No blocks yet.' }
        )
      );
      const tipsEl = $('home-tips');
      if (chain.tipsSupported === false) {
        tipsEl.replaceChildren(note('This node does not list branch tips yet (GET /v1/tips answers 501).'));
      } else if (chain.tipsSupported) {
        tipsEl.replaceChildren(
          table(
            'Tips of the branches this node knows',
            ['Status', 'Height', 'Branch', 'Tip', 'Forks from'],
            chain.tips.map((t) => {
              const st = PB.enumName(t.status, 'CHAIN_TIP_STATUS_');
              return h('tr', null,
                h('td', null, h('span', { class: 'pill pill-' + st.replace(/ /g, '-') }, st === 'valid fork' ? 'side branch' : st)),
                h('td', null, PB.groupDigits(t.height)),
                h('td', { class: 'num' }, String(t.branchLength)),
                h('td', null, hashLink(PB.displayHash(t.hash), PB.short(PB.displayHash(t.hash), 8, 6))),
                h('td', null, hashLink(PB.displayHash(t.forkHash), PB.short(PB.displayHash(t.forkHash), 8, 6))));
            }),
            { empty: 'No branches.' }
          )
        );
      }
      const info = state.info;
      if (info) {
        $('home-node').replaceChildren(
          fields([
            ['Chain id', info.chainId],
            ['Genesis', hashLink(PB.displayHash(info.genesisHash), PB.short(PB.displayHash(info.genesisHash), 12, 8))],
            ['Tip', hashLink(PB.displayHash(info.tipHash), PB.short(PB.displayHash(info.tipHash), 12, 8))],
            ['Chain work', h('span', { class: 'mono' }, info.chainWork)],
            ['Difficulty bits', h('span', { class: 'mono' }, '0x' + (Number(info.tipBits) >>> 0).toString(16).padStart(8, '0'))],
            ['Network hash rate', PB.hashRate(info.networkHashRate)],
            ['Local miner', info.mining ? 'mining at ' + PB.hashRate(info.localHashRate) : 'not mining'],
            ['Mempool', PB.groupDigits(info.mempoolSize) + ' tx, ' + PB.sizeText(info.mempoolBytes)],
            ['Role', PB.enumName(info.role, 'PEER_ROLE_')],
            ['Node id', h('span', { class: 'mono' }, info.nodeId)],
            ['Software', info.version + ', protocol ' + info.protocolVersion],
          ])
        );
      }
    },
  };

  views.block = {
    nav: 'home',
    onTip() {
      refreshQuietly(); // confirmations, child link
    },
    async render(main, id) {
      if (/^[0-9a-fA-F]{64}$/.test(id)) id = id.toLowerCase();
      let r;
      try {
        r = await api('/v1/blocks/' + encodeURIComponent(id));
      } catch (e) {
        if (isNotFound(e)) {
          fill(main, notFoundPanel(/^\d+$/.test(id) ? 'No main-chain block at height ' + id + (chain.tipHeight >= 0 ? ' (the tip is at ' + chain.tipHeight + ').' : '.') : 'No block with hash ' + id + '.'));
          return;
        }
        throw e;
      }
      const hdr = r.block.header;
      const hash = PB.displayHash(r.hash);
      const prev = PB.displayHash(hdr.prevHash);
      const height = Number(r.height);
      const txs = r.block.transactions || [];
      const txids = (r.txids || []).map(PB.displayHash);
      const status = r.inMainChain
        ? h('span', { class: 'pill pill-active' }, 'main chain · ' + PB.groupDigits(r.confirmations) + ' confirmation' + (r.confirmations === '1' ? '' : 's'))
        : h('span', { class: 'pill pill-side' }, 'side branch (not on the main chain)');
      const navPrev = !PB.isZeroHash(prev) ? h('a', { class: 'btn', href: '#/block/' + prev, rel: 'prev' }, '← Parent #' + (height - 1)) : null;
      const navNext = r.inMainChain && height < chain.tipHeight ? h('a', { class: 'btn', href: '#/block/' + (height + 1), rel: 'next' }, 'Child #' + (height + 1) + ' →') : null;
      const records = [];
      txs.forEach((tx, i) => {
        if (tx.record) records.push([i, tx]);
      });
      fill(main, 
        h('section', { class: 'panel' },
          h('div', { class: 'panel-head' }, h('h2', null, 'Block #' + PB.groupDigits(height)), status),
          h('p', { class: 'hash-line mono', dataset: { field: 'hash' } }, hash),
          fields([
            ['Height', PB.groupDigits(height), 'height'],
            ['Time', [PB.timeText(hdr.time), ' (', ageSpan(hdr.time * 1000), ')'], 'time'],
            ['Transactions', String(txs.length), 'tx-count'],
            ['Size', PB.sizeText(r.sizeBytes) + ' (' + PB.groupDigits(r.sizeBytes) + ' bytes)'],
            ['Parent', PB.isZeroHash(prev) ? h('span', { class: 'muted' }, 'none (genesis)') : hashLink(prev), 'prev'],
            ['Merkle root', h('span', { class: 'mono hash' }, PB.displayHash(hdr.merkleRoot))],
            ['Bits', h('span', { class: 'mono' }, '0x' + (Number(hdr.bits) >>> 0).toString(16).padStart(8, '0'))],
            ['Nonce', PB.groupDigits(hdr.nonce)],
            ['Version', String(hdr.version)],
          ]),
          h('div', { class: 'btn-row' }, navPrev, navNext)
        ),
        panel(
          'Transactions',
          txids.length === txs.length ? null : note('This node does not send txids with blocks yet, so transactions are not linked.', 'warn'),
          table(
            'Transactions of block ' + height,
            ['#', 'Txid', 'Kind', 'From', 'To', 'Amount', 'Fee', 'Record'],
            txs.map((tx, i) => {
              const p = txParts(tx);
              return h('tr', null,
                h('td', { class: 'num' }, String(i)),
                h('td', null, txids[i] ? txLink(txids[i], PB.short(txids[i], 10, 6)) : h('span', { class: 'muted' }, 'n/a')),
                h('td', null, h('span', { class: 'pill ' + (p.coinbase ? 'pill-coinbase' : 'pill-transfer') }, p.coinbase ? 'coinbase' : 'transfer')),
                h('td', null, p.coinbase ? h('span', { class: 'muted' }, 'new coins') : addrLink(p.from, PB.short(p.from, 10, 6))),
                h('td', null, addrLink(p.to, PB.short(p.to, 10, 6))),
                h('td', { class: 'num' }, amount(p.amount)),
                h('td', { class: 'num' }, amount(p.fee)),
                h('td', null, recordSummary(p.record)));
            }),
            { class: 'table-txs' }
          )
        ),
        records.length ? panel('Data records', recordsTable(records.map(([i, tx]) => ({ index: i, txid: txids[i], rec: tx.record })))) : null
      );
    },
  };

  function recordsTable(items) {
    return table(
      'Data records',
      ['Tx', 'Namespace', 'Key', 'Payload'],
      items.map((it) =>
        h('tr', null,
          h('td', null, it.txid ? txLink(it.txid, it.index != null ? '#' + it.index : PB.short(it.txid, 8, 4)) : '#' + it.index),
          h('td', null, h('span', { class: 'mono' }, it.rec.namespace)),
          h('td', null, it.rec.key != null ? bytesView(it.rec.key, 256) : h('span', { class: 'muted' }, 'no key')),
          h('td', { class: 'payload' }, bytesView(it.rec.payload || '', 2048), h('span', { class: 'muted small' }, ' · ' + PB.b64ToBytes(it.rec.payload || '').length + ' bytes')))
      )
    );
  }

  views.tx = {
    nav: 'home',
    onTip() {
      refreshQuietly(); // confirmations, or the block that now holds it
    },
    async render(main, txid) {
      txid = String(txid).toLowerCase();
      let r;
      try {
        r = await api('/v1/txs/' + encodeURIComponent(txid));
      } catch (e) {
        if (isNotFound(e)) {
          fill(main, notFoundPanel('No transaction with txid ' + txid + ' on the main chain or in the mempool.'));
          return;
        }
        throw e;
      }
      const tx = r.transaction;
      const p = txParts(tx);
      const blockHash = PB.displayHash(r.blockHash);
      const status = r.inMempool
        ? h('span', { class: 'pill pill-pending' }, 'in the mempool, unconfirmed')
        : h('span', { class: 'pill pill-active' }, 'confirmed · ' + PB.groupDigits(r.confirmations) + ' confirmation' + (r.confirmations === '1' ? '' : 's'));
      fill(main, 
        h('section', { class: 'panel' },
          h('div', { class: 'panel-head' }, h('h2', null, p.coinbase ? 'Coinbase transaction' : 'Transfer'), status),
          h('p', { class: 'hash-line mono', dataset: { field: 'txid' } }, txid.toLowerCase()),
          h('div', { class: 'flow' },
            h('div', { class: 'flow-end' }, h('span', { class: 'flow-label' }, 'From'), p.coinbase ? h('span', { class: 'muted' }, 'block reward (new coins)') : addrLink(p.from)),
            h('div', { class: 'flow-arrow', 'aria-hidden': 'true' }, h('span', null, PB.groupDigits(p.amount)), '→'),
            h('div', { class: 'flow-end' }, h('span', { class: 'flow-label' }, 'To'), addrLink(p.to))
          ),
          fields([
            ['Amount', amount(p.amount, 'big'), 'amount'],
            p.coinbase ? null : ['Fee', amount(p.fee), 'fee'],
            ['Sender', p.coinbase ? h('span', { class: 'muted' }, 'none (coinbase)') : addrLink(p.from), 'sender'],
            ['Recipient', addrLink(p.to), 'recipient'],
            r.inMempool
              ? ['Block', h('span', { class: 'muted' }, 'not yet mined')]
              : ['Block', [hashLink(blockHash, '#' + PB.groupDigits(r.blockHeight) + ' ' + PB.short(blockHash, 8, 6)), ' · position ' + r.indexInBlock], 'block'],
            p.coinbase ? ['Coinbase height', PB.groupDigits(tx.height)] : ['Nonce', PB.groupDigits(tx.nonce), 'nonce'],
            p.coinbase ? ['Extra nonce', PB.groupDigits(tx.extraNonce)] : null,
            ['Chain id', tx.chainId],
            ['Version', String(tx.version)],
            p.coinbase ? null : ['Sender public key', h('span', { class: 'mono hash' }, PB.hex(PB.b64ToBytes(tx.senderPubkey)))],
            p.coinbase ? null : ['Signature', h('span', { class: 'mono hash' }, PB.hex(PB.b64ToBytes(tx.signature)))],
          ])
        ),
        p.record ? panel('Data record', recordsTable([{ index: null, txid: null, rec: p.record }])) : null
      );
    },
  };

  views.address = {
    nav: 'home',
    pages: new Map(), // address -> stack of page tokens
    async render(main, text, token) {
      const addr = PB.parseAddress(text); // parseRoute decoded it
      if (!addr) {
        fill(main, notFoundPanel('“' + text + '” is not a valid address: ' + PB.parseAddress.error + '.'));
        return;
      }
      const acct = await api('/v1/accounts/' + addr);
      const a = acct.account || {};
      const hist = h('div', { id: 'addr-history' }, h('p', { class: 'loading' }, 'Loading history…'));
      fill(main, 
        h('section', { class: 'panel' },
          h('div', { class: 'panel-head' }, h('h2', null, 'Address')),
          h('p', { class: 'hash-line mono', dataset: { field: 'address' } }, addr),
          h('div', { class: 'balance', dataset: { field: 'balance' } }, h('span', { class: 'flow-label' }, 'Balance'), amount(a.balance || '0', 'big'), h('span', { class: 'muted' }, ' base units at height ' + PB.groupDigits(acct.height))),
          fields([
            ['Transfers sent (nonce)', PB.groupDigits(a.nonce || '0'), 'nonce'],
            ['Next nonce (with mempool)', PB.groupDigits(acct.pendingNonce || '0'), 'pending-nonce'],
          ])
        ),
        panel('History', hist)
      );
      await this.history(addr, token || '', hist);
    },
    /** Fills `el` with one page of the address's history. */
    async history(addr, token, el) {
      let r;
      try {
        r = await api('/v1/accounts/' + addr + '/history?pageSize=25' + (token ? '&pageToken=' + encodeURIComponent(token) : ''));
      } catch (e) {
        el.replaceChildren(note(isUnimplemented(e) ? 'This node does not serve account history yet (GET /v1/accounts/{address}/history answers 501).' : errorText(e), isUnimplemented(e) ? 'warn' : 'error'));
        return;
      }
      // Tokens of the pages before this one, for "Newer"; a fresh visit starts over.
      if (!token) this.pages.set(addr, []);
      const stack = this.pages.get(addr) || [];
      this.pages.set(addr, stack);
      const rows = (r.entries || []).map((e) => {
        const p = txParts(e.transaction);
        const txid = PB.displayHash(e.txid);
        const recv = BigInt(e.received || '0');
        const sent = BigInt(e.sent || '0');
        let what, other;
        if (p.coinbase) {
          what = 'mined';
          other = null;
        } else if (p.from === addr && p.to === addr) {
          what = 'to self';
          other = null;
        } else if (p.from === addr) {
          what = 'sent';
          other = p.to;
        } else {
          what = 'received';
          other = p.from;
        }
        const net = recv - sent;
        return h('tr', null,
          h('td', null, h('a', { href: '#/block/' + PB.displayHash(e.blockHash) }, PB.groupDigits(e.blockHeight))),
          h('td', null, PB.timeText(e.blockTime)),
          h('td', null, txLink(txid, PB.short(txid, 10, 6))),
          h('td', null, h('span', { class: 'pill pill-' + what.replace(/ /g, '-') }, what), p.record ? [' ', recordSummary(p.record)] : null),
          h('td', null, other ? addrLink(other, PB.short(other, 10, 6)) : h('span', { class: 'muted' }, '—')),
          h('td', { class: 'num ' + (net >= 0n ? 'pos' : 'neg') }, (net >= 0n ? '+' : '−') + PB.groupDigits((net >= 0n ? net : -net).toString())));
      });
      const newer = stack.length ? h('button', { class: 'btn', type: 'button', onclick: () => { stack.pop(); this.history(addr, stack.length ? stack[stack.length - 1] : '', el); } }, '← Newer') : null;
      const older = r.nextPageToken ? h('button', { class: 'btn', type: 'button', onclick: () => { stack.push(r.nextPageToken); this.history(addr, r.nextPageToken, el); } }, 'Older →') : null;
      el.replaceChildren(
        table('Confirmed transactions touching ' + addr + ', newest first', ['Block', 'Time', 'Txid', 'What', 'Counterparty', 'Change'], rows, { empty: 'No confirmed transactions.' }),
        h('div', { class: 'btn-row' }, newer, older)
      );
    },
  };

  views.mempool = {
    nav: 'mempool',
    async render(main) {
      const r = await api('/v1/mempool?limit=200');
      const entries = r.entries || [];
      fill(main, 
        h('section', { class: 'panel' },
          h('div', { class: 'panel-head' }, h('h2', null, 'Mempool'), h('span', { class: 'pill' }, PB.groupDigits(r.totalCount) + ' tx · ' + PB.sizeText(r.totalBytes))),
          h('p', { class: 'muted' }, 'Transfers waiting to be mined, highest mining priority first. Updates with every new block.'),
          table(
            'Transactions waiting in the mempool',
            ['Txid', 'From', 'To', 'Amount', 'Fee', 'Size', 'Received', 'Record'],
            entries.map((e) => {
              const p = txParts(e.transaction);
              const txid = PB.displayHash(e.txid);
              return h('tr', null,
                h('td', null, txLink(txid, PB.short(txid, 10, 6))),
                h('td', null, addrLink(p.from, PB.short(p.from, 10, 6))),
                h('td', null, addrLink(p.to, PB.short(p.to, 10, 6))),
                h('td', { class: 'num' }, amount(p.amount)),
                h('td', { class: 'num' }, amount(p.fee)),
                h('td', { class: 'num' }, PB.sizeText(e.sizeBytes)),
                h('td', null, ageSpan(Number(e.receivedUnixMs))),
                h('td', null, recordSummary(p.record)));
            }),
            { empty: 'The mempool is empty.' }
          ),
          Number(r.totalCount) > entries.length ? note('Showing the first ' + entries.length + ' of ' + r.totalCount + '.') : null
        )
      );
    },
    onTip() {
      rerender();
    },
    refreshMs: 4000,
  };

  views.peers = {
    nav: 'peers',
    async render(main) {
      const r = await api('/v1/peers');
      const connected = r.connected || [];
      const known = r.known || [];
      fill(main, 
        panel(
          'Connected peers (' + connected.length + ')',
          table(
            'Peers with an open gossip stream',
            ['Node id', 'Address', 'Role', 'Direction', 'Score', 'Connected', 'Height', 'Tip', 'Last heard'],
            connected.map((c) => {
              const i = c.info || {};
              const tip = PB.displayHash(i.tipHash);
              return h('tr', null,
                h('td', { class: 'mono', title: i.nodeId }, PB.short(i.nodeId, 8, 4)),
                h('td', { class: 'mono' }, i.address),
                h('td', null, h('span', { class: 'pill' }, PB.enumName(i.role, 'PEER_ROLE_'))),
                h('td', null, c.inbound ? 'inbound ←' : 'outbound →'),
                h('td', { class: 'num' + (c.misbehaviorScore > 0 ? ' neg' : '') }, String(c.misbehaviorScore || 0)),
                h('td', null, Number(c.connectedSinceUnixMs) ? ageSpan(Number(c.connectedSinceUnixMs)) : '—'),
                h('td', { class: 'num' }, PB.groupDigits(i.height)),
                h('td', null, tip ? hashLink(tip, PB.short(tip, 8, 4)) : '—'),
                h('td', null, Number(i.lastSeenUnixMs) ? ageSpan(Number(i.lastSeenUnixMs)) : '—'));
            }),
            { empty: 'No connected peers.' }
          )
        ),
        panel(
          'Known, not connected (' + known.length + ')',
          table(
            'Peers this node knows but is not connected to',
            ['Node id', 'Address', 'Role', 'Height', 'Last seen'],
            known.map((i) =>
              h('tr', null,
                h('td', { class: 'mono', title: i.nodeId }, PB.short(i.nodeId, 8, 4)),
                h('td', { class: 'mono' }, i.address),
                h('td', null, h('span', { class: 'pill' }, PB.enumName(i.role, 'PEER_ROLE_'))),
                h('td', { class: 'num' }, PB.groupDigits(i.height)),
                h('td', null, Number(i.lastSeenUnixMs) ? ageSpan(Number(i.lastSeenUnixMs)) : 'never'))
            ),
            { empty: 'No other known peers.' }
          )
        )
      );
    },
    refreshMs: 5000,
  };

  /** #/search/<text>: resolves a search and replaces the URL with the result. */
  views.search = {
    nav: null,
    async render(main, raw) {
      const q = (raw || '').trim(); // parseRoute decoded it
      const go = (route) => location.replace(route);
      if (/^\d{1,20}$/.test(q)) return go('#/block/' + q);
      if (/^[0-9a-fA-F]{64}$/.test(q)) {
        const hex = q.toLowerCase();
        try {
          await api('/v1/blocks/' + hex);
          return go('#/block/' + hex);
        } catch (e) {
          if (!isNotFound(e)) throw e;
        }
        try {
          await api('/v1/txs/' + hex);
          return go('#/tx/' + hex);
        } catch (e) {
          if (!isNotFound(e)) throw e;
        }
        fill(main, notFoundPanel('Not found: no block and no transaction has the hash ' + hex + '.'));
        showMessage('Not found: no block or transaction ' + PB.short(hex, 10, 6) + '.');
        return;
      }
      if (/^pb/i.test(q)) {
        const addr = PB.parseAddress(q);
        if (addr) return go('#/address/' + addr);
        fill(main, notFoundPanel('“' + q + '” is not a valid address: ' + PB.parseAddress.error + '.'));
        showMessage('Not a valid address: ' + PB.parseAddress.error + '.');
        return;
      }
      fill(main, notFoundPanel('Not found: “' + q + '”. Search for a block height (a number), a block hash or txid (64 hex digits), or an address (pb followed by 48 hex digits).'));
      showMessage('Nothing matches “' + PB.short(q, 20, 6) + '”.');
    },
  };

  function notFoundPanel(text) {
    return h('section', { class: 'panel panel-notfound', role: 'alert', dataset: { notfound: '' } }, h('h2', null, 'Not found'), h('p', null, text), h('p', null, h('a', { href: '#/' }, 'Back to the chain')));
  }

  function showMessage(text) {
    const m = $('search-message');
    m.textContent = text;
    m.hidden = !text;
    clearTimeout(showMessage.t);
    if (text) showMessage.t = setTimeout(() => (m.hidden = true), 8000);
  }

  // ---------------------------------------------------------------------------
  // Routing

  /** Decodes one route part once; a malformed escape (e.g. a '%' typed
   * into the URL bar) is kept as typed rather than thrown. */
  function decodePart(p) {
    try {
      return decodeURIComponent(p);
    } catch (e) {
      return p;
    }
  }

  /** The view name and its arguments, each decoded exactly once (views
   * must not decode them again: '50%25' is the text '50%'). */
  function parseRoute() {
    const parts = (location.hash || '#/').replace(/^#\/?/, '').split('/');
    const name = parts[0] || 'home';
    return { name, args: parts.slice(1).map(decodePart) };
  }

  async function rerender() {
    const { name, args } = parseRoute();
    const view = views[name];
    const main = $('main');
    const token = ++state.renderToken;
    clearInterval(state.viewTimer);
    state.view = view || null;
    for (const a of document.querySelectorAll('[data-nav]')) {
      if (view && a.dataset.nav === view.nav) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    if (!view) {
      fill(main, notFoundPanel('There is no page “' + location.hash + '”.'));
      return;
    }
    // Render into a detached container so a slow answer for an old route
    // never replaces a newer view.
    const box = h('div', { class: 'view view-' + name });
    try {
      await view.render(box, ...args);
    } catch (e) {
      box.replaceChildren(panel('Something went wrong', note(errorText(e), 'error')));
    }
    if (token !== state.renderToken) return;
    fill(main, ...box.childNodes);
    main.dataset.view = name;
    if (view === views.home) views.home.fill();
    if (view.refreshMs) state.viewTimer = setInterval(() => token === state.renderToken && refreshQuietly(), view.refreshMs);
  }

  async function refreshQuietly() {
    const { name, args } = parseRoute();
    const view = views[name];
    if (!view) return;
    const token = state.renderToken;
    const box = h('div');
    try {
      await view.render(box, ...args);
    } catch (e) {
      return;
    }
    if (token === state.renderToken) $('main').replaceChildren(...box.childNodes);
  }

  window.addEventListener('hashchange', () => {
    showMessage('');
    rerender().then(() => {
      const main = $('main');
      if (parseRoute().name !== 'home') main.focus({ preventScroll: true });
    });
  });

  $('search').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const q = $('search-input').value.trim();
    if (!q) {
      showMessage('Type a block height, a block hash, a txid or an address.');
      return;
    }
    const target = '#/search/' + encodeURIComponent(q);
    if (location.hash === target) rerender();
    else location.hash = target;
  });

  // ---------------------------------------------------------------------------
  // Start

  (async function start() {
    refreshInfo();
    setInterval(refreshInfo, 5000);
    await loadRecent();
    await loadTips();
    renderChain();
    startLive();
    rerender();
    // Branch tips change without a main-chain event (a side block arrives):
    // look again every 10 s.
    setInterval(async () => {
      if (chain.tipsSupported === false) return;
      await loadTips();
      renderChain();
      if (state.view === views.home) views.home.fill();
    }, 10000);
  })();
})();
