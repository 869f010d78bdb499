// app.js: the explorer page (explorer/index.html). It draws; it does not compute.
// Every mask, reach and weight comes from the C++ of src/ compiled to WebAssembly
// (explorer/bindings.cpp says which function answers which call):
//
//   fx_mask               the mask `fam mask` draws for the same settings
//   fx_receptive_field    receptive_field_mask / ..._earliest (paper Fig. 1d)
//   fx_model_load         load_model on the embedded models/passkey_fam.safetensors
//   fx_passkey_run        a PassKey example through viz_run (fam_write, fam_read, ...)
//   fx_timeline_attention timeline_attention of one layer / head, [n, n] floats
//
// Conventions (docs/spec.md): rows are queries, columns are keys; F<k>.<j> is row j
// of F_k, the FAM after k completed blocks. For the browser test,
// window.famExplorer.drawnMask(view) reads a mask back from the canvas pixels and
// ?selftest=[...settings...] moves the sliders through a list of settings and writes
// what was drawn into <pre id="selftest"> (tests/test_explorer.cpp).
'use strict';

const COLOR = {
  allowed: [43, 90, 168],   // may attend, token to token
  fam: [224, 123, 36],      // may attend, a FAM row or a FAM key
  masked: [236, 238, 241],  // masked
  missing: [205, 205, 205], // a memory block before block 0 (does not exist)
  line: [70, 70, 70],       // block boundaries
  mark: [204, 0, 0],        // the chosen token / query
  navy: [8, 48, 107],       // the top of the attention colour scale
};
const rgb = (c) => `rgb(${c[0]},${c[1]},${c[2]})`;
const $ = (id) => document.getElementById(id);
let wasm = null;  // the Emscripten module

// A JSON-returning C function; a {"error": ...} reply becomes an exception with that text.
function call(name, types, args) {
  const reply = JSON.parse(wasm.ccall(name, 'string', types, args));
  if (reply.error) throw new Error(reply.error);
  return reply;
}
const fxMask = (kind, view, T, W, B, M, F, tau, depth) =>
  call('fx_mask', ['string', 'string', 'number', 'number', 'number', 'number', 'number', 'number', 'number'],
       [kind, view, T, W, B, M, F, tau, depth]);

// ---- drawing a mask -------------------------------------------------------------------------

// Draws mk (from fx_mask) on the canvas: one square per cell, labels from the mask's
// axes, block boundaries where the axis group (block or FAM index) changes.
// opt.markRow: a row to frame (the receptive-field token).
function drawMask(cv, mk, opt = {}) {
  const n = Math.max(mk.rows, mk.cols);
  const cell = Math.max(3, Math.min(22, Math.floor(560 / n)));
  const every = Math.max(1, Math.ceil(12 / cell));  // label every k-th row / column
  const ctx = cv.getContext('2d', { willReadFrequently: true });  // the test reads the cells back
  ctx.font = '10px monospace';
  const width = (labels) => Math.max(12, ...labels.map((s) => ctx.measureText(s).width)) + 8;
  const ox = Math.ceil(width(mk.row.label)), oy = Math.ceil(width(mk.col.label));
  cv.width = ox + mk.cols * cell + 4;
  cv.height = oy + mk.rows * cell + 4;
  ctx.fillStyle = 'white';
  ctx.fillRect(0, 0, cv.width, cv.height);
  const gap = cell >= 7 ? 1 : 0;
  for (let r = 0; r < mk.rows; r++) {
    for (let c = 0; c < mk.cols; c++) {
      let col;
      if (mk.bits[r * mk.cols + c] === '1') col = mk.row.fam[r] >= 0 || mk.col.fam[c] >= 0 ? COLOR.fam : COLOR.allowed;
      else col = mk.col.pos[c] < 0 && mk.col.fam[c] < 0 ? COLOR.missing : COLOR.masked;
      ctx.fillStyle = rgb(col);
      ctx.fillRect(ox + c * cell, oy + r * cell, cell - gap, cell - gap);
    }
  }
  // block boundaries: 1 px on the first pixel of the new block (cell centres stay clear)
  ctx.fillStyle = rgb(COLOR.line);
  const changes = (a, i) => a.group[i] !== a.group[i - 1] || (a.fam[i] >= 0) !== (a.fam[i - 1] >= 0);
  for (let c = 1; c < mk.cols; c++) if (changes(mk.col, c)) ctx.fillRect(ox + c * cell, oy, 1, mk.rows * cell);
  for (let r = 1; r < mk.rows; r++) if (changes(mk.row, r)) ctx.fillRect(ox, oy + r * cell, mk.cols * cell, 1);
  // labels: FAM entries in the FAM colour
  ctx.textBaseline = 'middle';
  ctx.textAlign = 'right';
  for (let r = 0; r < mk.rows; r += every) {
    ctx.fillStyle = mk.row.fam[r] >= 0 ? rgb(COLOR.fam) : '#222';
    ctx.fillText(mk.row.label[r], ox - 4, oy + r * cell + cell / 2);
  }
  for (let c = 0; c < mk.cols; c += every) {
    ctx.save();
    ctx.translate(ox + c * cell + cell / 2, oy - 4);
    ctx.rotate(-Math.PI / 2);
    ctx.textAlign = 'left';
    ctx.fillStyle = mk.col.fam[c] >= 0 ? rgb(COLOR.fam) : '#222';
    ctx.fillText(mk.col.label[c], 0, 0);
    ctx.restore();
  }
  if (opt.markRow !== undefined) {  // two red lines just outside the row (centres stay clear)
    ctx.fillStyle = rgb(COLOR.mark);
    ctx.fillRect(ox - 3, oy + opt.markRow * cell - 1, mk.cols * cell + 6, 1);
    ctx.fillRect(ox - 3, oy + (opt.markRow + 1) * cell, mk.cols * cell + 6, 1);
  }
  Object.assign(cv.dataset, { ox, oy, cell, rows: mk.rows, cols: mk.cols });
  cv.famMask = mk;
}

// The mask as drawn: the colour at the centre of every cell, read back from the canvas.
// "1" where it is one of the two "may attend" colours.
function readBack(cv) {
  const { ox, oy, cell, rows, cols } = Object.fromEntries(Object.entries(cv.dataset).map(([k, v]) => [k, +v]));
  const px = cv.getContext('2d', { willReadFrequently: true }).getImageData(0, 0, cv.width, cv.height).data;
  const near = (i, c) => Math.abs(px[i] - c[0]) + Math.abs(px[i + 1] - c[1]) + Math.abs(px[i + 2] - c[2]) < 12;
  let bits = '';
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const x = ox + c * cell + Math.floor(cell / 2), y = oy + r * cell + Math.floor(cell / 2);
      const i = 4 * (y * cv.width + x);
      bits += near(i, COLOR.allowed) || near(i, COLOR.fam) ? '1' : '0';
    }
  }
  return { rows, cols, bits };
}

// ---- the mask and receptive-field panels ------------------------------------------------------

function settings() {
  const v = (id) => +$(id).value;
  const kind = document.querySelector('input[name=kind]:checked').value;
  return { kind, T: v('T'), W: v('W'), B: v('B'), M: v('M'), F: v('F'), tau: v('tau'), depth: v('depth'), t: v('t') };
}

function showOutputs() {
  for (const o of document.querySelectorAll('output')) o.value = $(o.htmlFor).value;
}

function updateMasks() {
  const s = settings();
  for (const l of document.querySelectorAll('#controls label[data-for]'))
    l.hidden = !l.dataset.for.split(' ').includes(s.kind);
  $('t').max = s.T - 1;
  if (+$('t').value > s.T - 1) $('t').value = s.T - 1;
  s.t = +$('t').value;
  showOutputs();

  const famArgs = `--block ${s.B} --mem ${s.M} --fam ${s.F}`;
  let main, cmd, cap;
  if (s.kind === 'swa') {
    main = fxMask('swa', '', s.T, s.W, 0, 0, 0, 0, 1);
    cap = `SWA, a window of W = ${s.W} tokens (self included): row t sees keys t-W+1..t.`;
    cmd = `build/fam mask --kind swa --len ${s.T} --window ${s.W}`;
  } else if (s.kind === 'bswa') {
    main = fxMask('bswa', '', s.T, 0, s.B, s.M, 0, 0, 1);
    cap = `BSWA, B = ${s.B}, M = ${s.M}: token t in block τ = floor(t/B) sees blocks τ-M..τ-1 whole and its block up to t.`;
    cmd = `build/fam mask --kind bswa --len ${s.T} --block ${s.B} --mem ${s.M}`;
  } else {
    main = fxMask('fam', 'timeline', s.T, 0, s.B, s.M, s.F, 0, 1);
    cap = `FAM, timeline view [F_0, block 0, F_1, block 1, ...]: the row of F_{k+1} sees F_k and block k; ` +
          `a token of block k sees its M memory blocks, F_k and its block up to itself.`;
    cmd = `build/fam mask --kind fam --view timeline --len ${s.T} ${famArgs}`;
  }
  $('cap-main').textContent = `${main.title}. ${cap}`;
  $('cmd-main').textContent = `the same grid: ${cmd}`;
  drawMask($('cv-main'), main);

  $('fig-block').hidden = s.kind !== 'fam';
  if (s.kind === 'fam') {
    const blk = fxMask('fam', 'block', 0, 0, s.B, s.M, s.F, s.tau, 1);
    $('cap-block').textContent = `${blk.title}. Block view of code block τ = ${s.tau} (Alg. 2, paper Fig. 2b): ` +
      `columns [memory | F_${s.tau} | block], rows [the block's tokens | the FAM queries writing F_${s.tau + 1}].`;
    $('cmd-block').textContent = `the same grid: build/fam mask --kind fam --view block ${famArgs} --index ${s.tau}`;
    drawMask($('cv-block'), blk);
  }
  updateReceptiveField(s);
}

function updateReceptiveField(s) {
  const F = s.F;  // the FAM line uses the F slider (hidden for SWA / BSWA; 0: no FAM line)
  const rf = call('fx_receptive_field', ['number', 'number', 'number', 'number', 'number', 'number'],
                  [s.T, s.B, s.M, F, s.depth, s.t]);
  const composed = fxMask('bswa', '', s.T, 0, s.B, s.M, 0, 0, s.depth);
  $('cap-rf').textContent = `${composed.title}: the BSWA mask composed over ${s.depth} layer(s); row t = ${s.t} framed.`;
  $('cmd-rf').textContent = `the same grid: build/fam mask --kind bswa --len ${s.T} --block ${s.B} --mem ${s.M} --depth ${s.depth}`;
  drawMask($('cv-rf'), composed, { markRow: s.t });

  const last = rf.layers[rf.layers.length - 1];
  let text = `After ${s.depth} layer(s), token t = ${s.t} (B = ${s.B}, M = ${s.M}) reaches back to position ` +
             `${last.bswa_earliest} through BSWA; the closed form max(0, (floor(t/B) - depth·M)·B) = ` +
             `${last.closed_form} ${last.closed_form === last.bswa_earliest ? 'agrees' : 'DISAGREES'}.`;
  if (F > 0) text += ` With a FAM of F = ${F} rows it reaches back to position ${last.fam_earliest}: ` +
                     `F_τ carries F_τ-1, which carries F_τ-2, ... down to block 0 (the paper's unlimited receptive field).`;
  else text += ' (Set F ≥ 1 with the FAM kind to add the FAM line.)';
  $('rf-text').textContent = text;

  // one strip per layer and kind: which positions can influence t
  const cv = $('cv-reach'), ctx = cv.getContext('2d');
  const cw = Math.max(4, Math.min(18, Math.floor(560 / s.T))), rh = 14, lab = 92, top = 16;
  const lines = [];
  for (const L of rf.layers) {
    lines.push({ name: `layer ${L.depth} BSWA`, on: (p) => L.bswa_row[p] === '1', col: COLOR.allowed });
    if (F > 0) lines.push({ name: `layer ${L.depth} FAM`, on: (p) => p >= L.fam_earliest && p <= s.t, col: COLOR.fam });
  }
  cv.width = lab + s.T * cw + 4;
  cv.height = top + lines.length * (rh + 3) + 4;
  ctx.fillStyle = 'white';
  ctx.fillRect(0, 0, cv.width, cv.height);
  ctx.font = '10px monospace';
  ctx.textBaseline = 'middle';
  for (let p = 0; p < s.T; p += Math.max(1, Math.ceil(20 / cw))) {
    ctx.fillStyle = p === s.t ? rgb(COLOR.mark) : '#222';
    ctx.textAlign = 'center';
    ctx.fillText(String(p), lab + p * cw + cw / 2, 7);
  }
  lines.forEach((ln, i) => {
    const y = top + i * (rh + 3);
    ctx.fillStyle = '#222';
    ctx.textAlign = 'right';
    ctx.fillText(ln.name, lab - 6, y + rh / 2);
    for (let p = 0; p < s.T; p++) {
      ctx.fillStyle = rgb(ln.on(p) ? ln.col : COLOR.masked);
      ctx.fillRect(lab + p * cw, y, cw - 1, rh);
    }
    ctx.fillStyle = rgb(COLOR.mark);
    ctx.fillRect(lab + s.t * cw, y + rh, cw - 1, 2);
  });
}

// ---- the trained model ----------------------------------------------------------------------

const model = { info: null, run: null, attention: new Map(), timer: null };

// timeline_attention(layer, head) of the current run, copied out of wasm memory [n, n].
function attention(layer, head) {
  const key = `${layer}/${head}`;
  if (!model.attention.has(key)) {
    const n = model.run.timeline.n;
    const ptr = wasm.ccall('fx_timeline_attention', 'number', ['number', 'number'], [layer, head]);
    if (!ptr) throw new Error(`fx_timeline_attention(${layer}, ${head}) failed`);
    model.attention.set(key, wasm.HEAPF32.slice(ptr / 4, ptr / 4 + n * n));
  }
  return model.attention.get(key);
}

const shade = (v) => {  // 0..1 -> white..navy
  const c = COLOR.navy.map((x) => Math.round(255 + (x - 255) * Math.max(0, Math.min(1, v))));
  return rgb(c);
};
const fmt = (x, d = 3) => (x === null || x === undefined ? 'n/a' : (+x).toFixed(d));

function runModel() {
  const key = $('key').value.trim();
  const t0 = performance.now();
  const run = call('fx_passkey_run', ['number', 'number', 'string'], [+$('filler').value, +$('seed').value, key]);
  run.ms = performance.now() - t0;  // wall time of the example + viz_run in WebAssembly (shown, not a model number)
  model.run = run;
  model.attention.clear();
  $('query').max = run.T - 1;
  $('query').value = run.queries[0];
  $('step').max = run.nblocks - 1;
  $('step').value = run.nblocks - 1;
  renderModel();
}

function renderModel() {
  const r = model.run;
  if (!r) return;
  showOutputs();
  const layer = +$('layer').value, head = +$('head').value, q = +$('query').value, step = +$('step').value;
  const T = r.T, B = r.B, F = r.F;
  const fs = r.focus[layer];
  $('model-summary').innerHTML =
    `Pass key <b>${r.key}</b> (positions ${r.highlight[0]}..${r.highlight[4]} and ${r.highlight[5]}..${r.highlight[9]}), ` +
    `filler ${r.filler} tokens: T = ${T} tokens in ${r.nblocks} blocks of B = ${B} (${r.ncomplete} complete, each ` +
    `writes the FAM; M = ${r.M}, so the FAM is the only way back). The model answers <b>${r.predicted}</b> ` +
    `<span class="${r.right ? 'right' : 'wrong'}">(${r.right ? 'right' : 'wrong'})</span>.<br>` +
    `Layer ${layer}: the FAM updates put ${fmt(fs.write_on)} of their attention on each pass-key digit, ` +
    `${fmt(fs.write_off)} on each other token of those blocks; the answer rows put ${fmt(fs.read_on)} of their ` +
    `attention on the FAM keys (other rows ${fmt(fs.read_off)}) (<code>focus_stats</code>). ` +
    `<span class="muted">(This forward and its analysis took ${Math.round(r.ms)} ms in WebAssembly in this browser.)</span>`;

  // what the FAM wrote: one line per block
  const write = r.fam_write.slice(layer * T, (layer + 1) * T);
  const wmax = Math.max(1e-9, ...write.filter((x) => x !== null));
  const cmax = Math.max(1e-9, ...r.fam_change.slice(layer * r.nblocks * F, (layer + 1) * r.nblocks * F));
  const keyset = new Set(r.highlight), answer = new Set(r.queries);
  let html = '';
  for (let k = 0; k < r.nblocks; k++) {
    const t0 = k * B, t1 = Math.min(T, t0 + B) - 1, complete = t1 - t0 + 1 === B;
    const cls = k === step ? 'blk current' : k > step ? 'blk future' : 'blk';
    html += `<div class="${cls}"><span class="blabel">block ${k} (t ${t0}..${t1}) ${complete ? `&rarr; F<sub>${k + 1}</sub>` : '(partial: writes nothing)'}</span><span class="words">`;
    for (let t = t0; t <= t1; t++) {
      const v = write[t];
      const style = v === null ? '' : `background:${shade(v / wmax)};color:${v / wmax > 0.55 ? 'white' : 'black'}`;
      const c = ['w', keyset.has(t) ? 'key' : '', answer.has(t) ? 'ans' : '', t === q ? 'query' : ''].join(' ');
      html += `<span class="${c}" data-t="${t}" style="${style}" title="t=${t} fam_write=${fmt(v)}">${r.words[t]}</span>`;
    }
    html += '</span><span class="dF">';
    if (complete && F > 0) {
      for (let j = 0; j < F; j++) {
        const dv = r.fam_change[(layer * r.nblocks + k) * F + j];
        html += `<span class="bar" title="|F${k + 1}.${j} - F${k}.${j}| = ${fmt(dv)}" style="height:${Math.round(2 + 16 * dv / cmax)}px"></span>`;
      }
      html += ` kept ${fmt(r.fam_keep[layer * r.nblocks + k], 2)}`;
    }
    html += '</span></div>';
  }
  $('write').innerHTML = html;
  $('write-legend').innerHTML = `fam_write: <span class="grad"></span> 0 .. ${fmt(wmax)}; bars: |ΔF| per FAM row, 0 .. ${fmt(cmax, 2)}`;
  for (const w of document.querySelectorAll('#write .w'))
    w.addEventListener('click', () => { $('query').value = w.dataset.t; renderModel(); });

  drawQueryRow(r, layer, head, q);
  drawTimeline(r, layer, head, q, step);
}

// Timeline index of token t (make_timeline: block k's tokens follow F_k).
const tokenIndex = (r, t) => r.timeline.block_start[Math.floor(t / r.B)] + (t % r.B);

function drawQueryRow(r, layer, head, q) {
  const n = r.timeline.n, tm = r.timeline.mask, att = attention(layer, head);
  const qi = tokenIndex(r, q);
  const row = att.subarray(qi * n, (qi + 1) * n);
  const max = Math.max(1e-9, ...row);
  const cv = $('cv-qrow'), ctx = cv.getContext('2d');
  const cw = Math.max(2, Math.min(14, Math.floor(1100 / n))), h = 28, top = 14;
  cv.width = cw * n + 20;
  cv.height = top + h + 18;
  ctx.fillStyle = 'white';
  ctx.fillRect(0, 0, cv.width, cv.height);
  ctx.font = '10px monospace';
  for (let c = 0; c < n; c++) {
    ctx.fillStyle = tm.bits[qi * n + c] === '1' ? shade(Math.sqrt(row[c] / max)) : rgb(COLOR.masked);
    ctx.fillRect(c * cw, top, cw, h);
    if (tm.col.fam[c] >= 0) {  // FAM keys: an orange tick under the strip
      ctx.fillStyle = rgb(COLOR.fam);
      ctx.fillRect(c * cw, top + h + 1, cw, 3);
    }
  }
  ctx.fillStyle = '#222';
  ctx.textBaseline = 'top';
  const every = Math.max(1, Math.ceil(24 / (cw * (r.F + r.B))));  // F_k labels at least 24 px apart
  r.timeline.fam_start.forEach((s, k) => { if (k % every === 0) ctx.fillText(`F${k}`, s * cw, 0); });
  ctx.fillStyle = rgb(COLOR.mark);
  ctx.fillRect(qi * cw, top + h + 6, cw, 4);

  const top5 = [...row.keys()].filter((c) => row[c] > 0).sort((a, b) => row[b] - row[a]).slice(0, 5);
  const name = (c) => (tm.col.fam[c] >= 0 ? tm.col.label[c] : `"${r.words[tm.col.pos[c]]}"@${tm.col.pos[c]}`);
  $('qrow-text').innerHTML =
    `Query t = ${q} ("${r.words[q]}", block ${Math.floor(q / r.B)}), layer ${layer}, ${head < 0 ? 'mean of the heads' : 'head ' + head}; ` +
    `colour sqrt(weight / ${fmt(max)}), orange ticks: FAM keys, red: the query. Largest weights: ` +
    top5.map((c) => `${name(c)} ${fmt(row[c])}`).join(', ') +
    `. Mass on the FAM keys (fam_read, mean over heads): ${fmt(r.fam_read[layer * r.T + q])}.`;
}
function drawTimeline(r, layer, head, q, step) {
  const n = r.timeline.n, tm = r.timeline.mask, att = attention(layer, head);
  let max = 1e-9;
  for (let i = 0; i < att.length; i++) if (att[i] > max) max = att[i];
  const cell = Math.max(1, Math.min(6, Math.floor(640 / n)));
  const cv = $('cv-timeline'), ctx = cv.getContext('2d');
  cv.width = n * cell + 2;
  cv.height = n * cell + 2;
  const img = ctx.createImageData(cv.width, cv.height);
  const put = (x, y, c) => { const i = 4 * (y * cv.width + x); img.data[i] = c[0]; img.data[i + 1] = c[1]; img.data[i + 2] = c[2]; img.data[i + 3] = 255; };
  const navy = (v) => COLOR.navy.map((x) => Math.round(255 + (x - 255) * v));
  for (let rr = 0; rr < n; rr++) {
    const shown = tm.row.fam[rr] >= 0 ? tm.row.group[rr] <= step + 1 : tm.row.group[rr] <= step;
    for (let c = 0; c < n; c++) {
      let col = [255, 255, 255];
      if (shown) col = tm.bits[rr * n + c] === '1' ? navy(Math.sqrt(att[rr * n + c] / max)) : COLOR.masked;
      for (let dy = 0; dy < cell; dy++) for (let dx = 0; dx < cell; dx++) put(c * cell + dx, rr * cell + dy, col);
    }
  }
  ctx.putImageData(img, 0, 0);
  const qi = tokenIndex(r, q);
  ctx.strokeStyle = rgb(COLOR.mark);
  ctx.strokeRect(0.5, qi * cell - 0.5, n * cell, cell + 1);
}

function startStop() {
  if (model.timer) {
    clearInterval(model.timer);
    model.timer = null;
    $('play').innerHTML = '&#9654; play';
    return;
  }
  if (+$('step').value >= +$('step').max) $('step').value = 0;
  $('play').innerHTML = '&#10074;&#10074; pause';
  renderModel();
  model.timer = setInterval(() => {
    if (+$('step').value >= +$('step').max) return startStop();
    $('step').value = +$('step').value + 1;
    renderModel();
  }, 900);
}

// ---- start-up, the test hook ------------------------------------------------------------

// Moves the controls to s, as a user would (value + an input event per control).
function setSettings(s) {
  if (s.kind) document.querySelector(`input[name=kind][value=${s.kind}]`).click();
  for (const id of ['T', 'W', 'B', 'M', 'F', 'tau', 'depth', 't']) {
    if (s[id] === undefined) continue;
    $(id).value = s[id];
    $(id).dispatchEvent(new Event('input', { bubbles: true }));
  }
}

// The views drawn for a kind, and where the test finds them.
const VIEWS = { swa: { main: 'cv-main', rf: 'cv-rf' }, bswa: { main: 'cv-main', rf: 'cv-rf' },
                fam: { timeline: 'cv-main', block: 'cv-block', rf: 'cv-rf' } };

window.famExplorer = {
  setSettings,
  settings,
  // the mask the C++ returned for a view, and the mask as drawn on its canvas
  currentMask: (view) => { const m = $(VIEWS[settings().kind][view]).famMask; return { rows: m.rows, cols: m.cols, bits: m.bits }; },
  drawnMask: (view) => readBack($(VIEWS[settings().kind][view])),
};

function selftest(list) {
  const out = [];
  list.forEach((s, i) => {
    setSettings(s);
    for (const view of Object.keys(VIEWS[s.kind])) {
      const d = window.famExplorer.drawnMask(view), m = window.famExplorer.currentMask(view);
      out.push(`mask ${i} ${view} ${d.rows} ${d.cols} ${d.bits}`);
      if (d.bits !== m.bits) out.push(`mismatch ${i} ${view}: the canvas differs from fx_mask`);
    }
  });
  if (model.run) {
    // the model panel as a user drives it: every layer and head, every block step, play and pause
    for (const layer of [...$('layer').options].map((o) => o.value))
      for (const head of [...$('head').options].map((o) => o.value)) {
        $('layer').value = layer;
        $('head').value = head;
        $('head').dispatchEvent(new Event('change'));
      }
    for (let k = 0; k <= +$('step').max; k++) {
      $('step').value = k;
      $('step').dispatchEvent(new Event('input'));
    }
    $('play').click();
    $('play').click();
    const r = model.run;
    out.push(`panel ${$('write').querySelectorAll('.blk').length} blocks drawn, play ${model.timer ? 'running' : 'stopped'}`);
    out.push(`timing viz_run ${Math.round(r.ms)} ms`);
    out.push(`model filler ${r.filler} seed ${+$('seed').value} key ${r.key} predicted ${r.predicted} T ${r.T}`);
    for (let l = 0; l < r.N; l++) out.push(`fam_write ${l} ${r.fam_write.slice(l * r.T, (l + 1) * r.T).map((x) => (x === null ? 'nan' : x.toFixed(5))).join(' ')}`);
  }
  out.push(`errors ${window.famConsoleErrors.length}`);
  for (const e of window.famConsoleErrors) out.push(`error: ${e}`);
  out.push('done');
  $('selftest').textContent = out.join('\n');
  $('selftest').hidden = false;
}

function start(mod) {
  wasm = mod;
  for (const id of ['T', 'W', 'B', 'M', 'F', 'tau', 'depth', 't'])
    $(id).addEventListener('input', updateMasks);
  for (const k of document.querySelectorAll('input[name=kind]')) k.addEventListener('change', updateMasks);
  updateMasks();

  try {
    const info = call('fx_model_load', ['string'], ['/models/passkey_fam.safetensors']);
    model.info = info;
    $('model-desc').innerHTML = `The shipped model <code>models/passkey_fam.safetensors</code> (embedded in this page): ` +
      `<code>${info.describe}</code>, loaded by <code>load_model</code> and run by <code>viz_run</code> (one forward ` +
      `with the block observer). Products here are plain loops (no OpenBLAS in WebAssembly), so the last digits may ` +
      `differ from <code>build/fam viz</code>.`;
    $('layer').innerHTML = [...Array(info.N).keys()].map((l) => `<option value="${l}">${l}</option>`).join('');
    $('head').innerHTML = '<option value="-1">mean of heads</option>' +
      [...Array(info.H).keys()].map((h) => `<option value="${h}">${h}</option>`).join('');
    for (const id of ['filler', 'seed', 'key']) $(id).addEventListener('change', () => { try { runModel(); $('key').classList.remove('bad'); } catch (e) { $('model-summary').textContent = e.message; $('key').classList.add('bad'); } });
    $('filler').addEventListener('input', showOutputs);
    for (const id of ['layer', 'head']) $(id).addEventListener('change', renderModel);
    for (const id of ['query', 'step']) $(id).addEventListener('input', renderModel);
    $('play').addEventListener('click', startStop);
    runModel();
  } catch (e) {
    $('model-summary').textContent = `The model could not be run: ${e.message}`;
    console.error(e);
  }
  $('status').textContent = 'ready: computed by the C++ of src/, compiled to WebAssembly';

  const p = new URLSearchParams(location.search);
  if (p.has('show')) {  // ?show=model,rf: only these panels (for screenshots)
    const keep = p.get('show').split(',');
    for (const sec of document.querySelectorAll('main > section')) sec.hidden = !keep.includes(sec.id);
  }
  if (p.has('selftest')) selftest(JSON.parse(p.get('selftest')));
  else if (p.has('settings')) setSettings(JSON.parse(p.get('settings')));
}

createFamExplorer().then(start, (e) => {
  $('status').textContent = `The WebAssembly module failed to load: ${e}`;
  console.error(e);
});
