/* report.html's own script (inlined by src/report_html.c after uPlot): reads the report document
 * and the histogram buckets from the page's two application/json blocks and draws every
 * [data-chart] element. It loads nothing. When done it sets body data-charts-drawn (charts drawn)
 * and data-charts-expected (chart slots); errors go to data-js-errors (tests read all three). */
(function () {
  'use strict';
  var body = document.body;
  var errors = [];
  var drawn = 0;
  var plots = [];

  var C = {
    p50: '#2563eb', p95: '#f59e0b', p99: '#dc2626',
    inflight: '#7c3aed', completed: '#2563eb', errors: '#dc2626', tps: '#059669',
    hist: '#2563eb', grid: '#e5e7eb', axis: '#4b5563'
  };

  function fmt(v) {
    if (v == null || !isFinite(v)) return '\u2013';
    var a = Math.abs(v);
    if (a >= 1000) return Math.round(v).toLocaleString('en-US');
    if (a >= 10) return v.toFixed(1);
    if (a >= 1) return v.toFixed(2);
    if (a === 0) return '0';
    return v.toPrecision(2);
  }

  function unitFmt(unit) {
    return function (u, v) { return v == null ? '\u2013' : fmt(v) + (unit ? ' ' + unit : ''); };
  }

  function axis(label, extra) {
    var a = {
      label: label, stroke: C.axis, labelSize: 22, labelFont: '12px system-ui, sans-serif',
      font: '11px system-ui, sans-serif', grid: { stroke: C.grid, width: 1 },
      ticks: { stroke: C.grid, width: 1 }
    };
    for (var k in extra) a[k] = extra[k];
    return a;
  }

  /* The chart's content box: uPlot sizes its canvas in CSS pixels and does not follow layout. */
  function width(el) {
    var cs = window.getComputedStyle(el);
    var w = el.clientWidth - parseFloat(cs.paddingLeft || 0) - parseFloat(cs.paddingRight || 0);
    return Math.max(240, Math.floor(w || 400));
  }

  function draw(el, title, opts, data) {
    opts.title = title;
    opts.width = width(el);
    opts.height = 240;
    opts.legend = opts.legend || { live: true };
    opts.cursor = opts.cursor || { points: { size: 7 } };
    var u = new uPlot(opts, data, el);
    plots.push({ el: el, u: u });
    drawn++;
  }

  function get(o, path) {
    for (var i = 0; i < path.length; i++) {
      if (o == null) return null;
      o = o[path[i]];
    }
    return typeof o === 'number' ? o : null;
  }

  /* A latency percentile, or null when the metric had no samples. */
  function pct(b, key, p) {
    var m = b.metrics && b.metrics[key];
    if (!m || m.count === 0) return null;
    return get(m, [p]);
  }

  var pctSeries = [
    { label: 'p50', key: 'p50', color: C.p50 },
    { label: 'p95', key: 'p95', color: C.p95 },
    { label: 'p99', key: 'p99', color: C.p99 }
  ];

  /* Benchmarks ordered by achieved rate (uPlot needs ascending x). */
  function byRate(benches) {
    return benches.filter(function (b) { return get(b, ['achieved_rate']) != null; })
      .slice().sort(function (a, b) { return a.achieved_rate - b.achieved_rate; });
  }

  /* Vertical marks on the sweep charts' x axis (achieved rate): the knee (report.json sweep.knee,
   * knee.c's rule) and the highest rate meeting the SLOs (sweep.capacity, or slo_search's result
   * over rates). A chart that drew the knee says so in data-knee-drawn (tests read it). */
  var marks = [];

  function sweepMarks(doc) {
    var sw = doc.sweep || {}, k = sw.knee, cap = sw.capacity;
    var ss = doc.slo_search && doc.slo_search.result;
    if (k && typeof k.rate === 'number')
      marks.push({ x: k.rate, knee: true, label: 'knee ' + fmt(k.rate) + ' req/s', color: '#111827', dash: [] });
    if (cap && cap.bound === 'exact' && typeof cap.rate === 'number')
      marks.push({ x: cap.rate, label: 'SLO max ' + fmt(cap.rate) + ' req/s', color: '#059669', dash: [6, 4] });
    else if (ss && ss.unit === 'req/s' && ss.bound === 'exact' && typeof ss.rate === 'number')
      marks.push({ x: ss.rate, label: 'SLO max ' + fmt(ss.rate) + ' req/s', color: '#059669', dash: [6, 4] });
  }

  function markHooks(el) {
    if (!marks.length) return {};
    return { draw: [function (u) {
      var ctx = u.ctx, dpr = window.devicePixelRatio || 1, b = u.bbox;
      marks.forEach(function (m, i) {
        var x = Math.round(u.valToPos(m.x, 'x', true));
        if (!(x >= b.left && x <= b.left + b.width)) return;
        ctx.save();
        ctx.strokeStyle = m.color;
        ctx.fillStyle = m.color;
        ctx.lineWidth = 1.5 * dpr;
        ctx.setLineDash(m.dash.map(function (d) { return d * dpr; }));
        ctx.beginPath();
        ctx.moveTo(x, b.top);
        ctx.lineTo(x, b.top + b.height);
        ctx.stroke();
        ctx.font = Math.round(11 * dpr) + 'px system-ui, sans-serif';
        var w = ctx.measureText(m.label).width;
        ctx.textAlign = x + 4 * dpr + w > b.left + b.width ? 'right' : 'left';
        ctx.fillText(m.label, x + (ctx.textAlign === 'right' ? -4 : 4) * dpr, b.top + (14 + 14 * i) * dpr);
        ctx.restore();
        if (m.knee) el.setAttribute('data-knee-drawn', '1');
      });
    }] };
  }

  function sweepLatency(el, benches, key, name) {
    var bs = byRate(benches);
    var data = [bs.map(function (b) { return b.achieved_rate; })];
    var series = [{ label: 'achieved', value: unitFmt('req/s') }];
    pctSeries.forEach(function (s) {
      data.push(bs.map(function (b) { return pct(b, key, s.key); }));
      series.push({ label: name + ' ' + s.label, stroke: s.color, width: 2, value: unitFmt('ms'),
                    points: { show: true, size: 7, fill: s.color } });
    });
    draw(el, name + ' percentiles against achieved rate', {
      hooks: markHooks(el),
      scales: { x: { time: false, range: padRange } },
      series: series,
      axes: [axis('achieved rate (req/s)'), axis(name + ' (ms)', { size: 60 })]
    }, data);
  }

  function sweepThroughput(el, benches) {
    var bs = byRate(benches);
    var data = [bs.map(function (b) { return b.achieved_rate; }),
                bs.map(function (b) { return get(b, ['metrics', 'output_token_throughput']); }),
                bs.map(function (b) { return get(b, ['metrics', 'request_throughput']); })];
    draw(el, 'Output tokens/s against achieved rate', {
      hooks: markHooks(el),
      scales: { x: { time: false, range: padRange }, tps: { auto: true, range: function (u, lo, hi) { return [0, hi * 1.08 || 1]; } },
                rps: { auto: true, range: function (u, lo, hi) { return [0, hi * 1.08 || 1]; } } },
      series: [
        { label: 'achieved', value: unitFmt('req/s') },
        { label: 'output', stroke: C.tps, width: 2, scale: 'tps', value: unitFmt('tok/s'),
          points: { show: true, size: 7, fill: C.tps } },
        { label: 'completed', stroke: C.completed, width: 1.5, dash: [5, 4], scale: 'rps', value: unitFmt('req/s'),
          points: { show: true, size: 5, fill: C.completed } }
      ],
      axes: [axis('achieved rate (req/s)'), axis('output tokens/s', { scale: 'tps', size: 64 }),
             axis('completed req/s', { scale: 'rps', side: 1, size: 56, grid: { show: false } })]
    }, data);
  }

  /* Histogram buckets [lo, hi, count] (ms, hi exclusive, ascending, maybe with gaps) merged into
   * at most maxBins equal bins on a linear axis, none narrower than the widest bucket (so no empty
   * slivers between buckets). A long tail is cut at 1.5x the p99.5 so the body stays readable; the
   * values beyond are counted and named in the title. Returns {xs, ys, beyond, cut}: xs are bin
   * left edges plus a closing edge, ys the share (%) for a stepped line. */
  function bins(buckets, maxBins) {
    var total = 0, widest = 0, i;
    for (i = 0; i < buckets.length; i++) {
      total += buckets[i][2];
      widest = Math.max(widest, buckets[i][1] - buckets[i][0]);
    }
    var lo = buckets[0][0], hi = buckets[buckets.length - 1][1];
    var seen = 0, q = hi;
    for (i = 0; i < buckets.length; i++) {
      seen += buckets[i][2];
      if (seen >= 0.995 * total) { q = buckets[i][1]; break; }
    }
    var cut = hi > lo + 3 * (q - lo) && hi - lo > 4 * widest ? lo + 1.5 * (q - lo) : null;
    if (cut != null) hi = cut;
    var span = Math.max(hi - lo, 1e-9);
    var n = Math.max(1, Math.min(maxBins, Math.floor(span / Math.max(widest, 1e-9))));
    var counts = new Array(n).fill(0), beyond = 0;
    for (i = 0; i < buckets.length; i++) {
      var mid = (buckets[i][0] + buckets[i][1]) / 2;
      if (cut != null && mid > cut) { beyond += buckets[i][2]; continue; }
      counts[Math.min(n - 1, Math.max(0, Math.floor((mid - lo) / span * n)))] += buckets[i][2];
    }
    var xs = [], ys = [];
    for (i = 0; i < n; i++) {
      xs.push(lo + span * i / n);
      ys.push(total ? 100 * counts[i] / total : 0);
    }
    xs.push(lo + span);
    ys.push(0);
    return { xs: xs, ys: ys, beyond: beyond, cut: cut };
  }

  /* Room either side of the data, and at least a little width when every value is the same. */
  function padRange(u, min, max) {
    if (min == null) return [0, 1];
    var pad = Math.max((max - min) * 0.06, Math.abs(max) * 0.02, 1e-3);
    return [Math.max(0, min - pad), max + pad];
  }

  function distTitle(b, key, name) {
    var t = name + ' distribution';
    var p50 = pct(b, key, 'p50'), p99 = pct(b, key, 'p99');
    if (p50 != null) t += ' (p50 ' + fmt(p50) + ' ms, p99 ' + fmt(p99) + ' ms)';
    return t;
  }

  function histogram(el, b, buckets, key, name, what) {
    if (!buckets || !buckets.length) return percentileCurve(el, b, key, name);
    var d = bins(buckets, 60);
    var title = distTitle(b, key, name);
    if (d.beyond) title += '; ' + d.beyond + ' above ' + fmt(d.cut) + ' ms not shown';
    draw(el, title, {
      scales: { x: { time: false, range: padRange }, y: { range: function (u, lo, hi) { return [0, hi * 1.1 || 1]; } } },
      series: [
        { label: name, value: unitFmt('ms') },
        { label: 'share of ' + what, stroke: C.hist, width: 1.5, fill: 'rgba(37, 99, 235, 0.18)',
          paths: uPlot.paths.stepped({ align: 1 }), value: function (u, v) { return v == null ? '\u2013' : v.toFixed(1) + ' %'; },
          points: { show: false } }
      ],
      axes: [axis(name + ' (ms)'), axis('% of ' + what, { size: 50 })]
    }, [d.xs, d.ys]);
  }

  /* Without buckets (reports written before report.json had a TTFT histogram): the percentiles
   * report.json does have, as a cumulative curve. */
  function percentileCurve(el, b, key, name) {
    var m = (b.metrics && b.metrics[key]) || {};
    var pts = [['min', 0], ['p50', 50], ['p90', 90], ['p95', 95], ['p99', 99], ['p999', 99.9], ['max', 100]];
    var xs = [], ys = [];
    if (m.count !== 0) {
      pts.forEach(function (p) {
        var v = get(m, [p[0]]);
        if (v != null && (!xs.length || v >= xs[xs.length - 1])) { xs.push(v); ys.push(p[1]); }
      });
    }
    draw(el, name + ' percentiles', {
      scales: { x: { time: false }, y: { range: [0, 100] } },
      series: [{ label: name, value: unitFmt('ms') },
               { label: 'percentile', stroke: C.hist, width: 2, points: { show: true, size: 6, fill: C.hist } }],
      axes: [axis(name + ' (ms)'), axis('percentile', { size: 50 })]
    }, [xs, ys]);
  }

  function timeseries(el, b) {
    var ts = Array.isArray(b.timeseries) ? b.timeseries : [];
    var col = function (k) { return ts.map(function (p) { return typeof p[k] === 'number' ? p[k] : null; }); };
    var zero = function (u, lo, hi) { return [0, hi > 0 ? hi * 1.1 : 1]; };
    /* With the server's series beside it, the same x range as their charts. */
    var x = b.server && b.server.series ? { time: false, range: benchRange(b) } : { time: false };
    draw(el, 'Per second: in flight, completions, errors, output', {
      scales: { x: x, n: { range: zero }, tps: { range: zero } },
      series: [
        { label: 't', value: function (u, v) { return v == null ? '\u2013' : v + ' s'; } },
        { label: 'in flight', stroke: C.inflight, width: 2, scale: 'n', value: unitFmt('') },
        { label: 'completed/s', stroke: C.completed, width: 2, scale: 'n', value: unitFmt('') },
        { label: 'errors/s', stroke: C.errors, width: 2, scale: 'n', value: unitFmt('') },
        { label: 'output tok/s', stroke: C.tps, width: 2, dash: [6, 4], scale: 'tps', value: unitFmt('') }
      ],
      axes: [axis('time (s)'), axis('requests', { scale: 'n', size: 50 }),
             axis('output tok/s', { scale: 'tps', side: 1, size: 60, grid: { show: false } })]
    }, [col('t'), col('in_flight'), col('completed'), col('errors'), col('output_tps')]);
  }

  /* --server-metrics: benchmarks[].server.series[role] is [[t_s, value], ...] in seconds from the
   * benchmark's start, the axis of b.timeseries (whose t ends each second). */
  function srvSeries(b, role) {
    var s = b.server && b.server.series && b.server.series[role];
    return Array.isArray(s) && s.length ? s : null;
  }

  /* Several [[x, y], ...] tables on one x array (the union, ascending), null where a table has no
   * point; the lines span the gaps. Returns [xs, ys1, ys2, ...]. */
  function joinPoints(tables) {
    var xs = [], seen = {};
    tables.forEach(function (t) {
      t.forEach(function (p) { if (!seen.hasOwnProperty(p[0])) { seen[p[0]] = true; xs.push(p[0]); } });
    });
    xs.sort(function (a, b) { return a - b; });
    var at = {};
    xs.forEach(function (x, i) { at[x] = i; });
    var out = [xs];
    tables.forEach(function (t) {
      var ys = new Array(xs.length).fill(null);
      t.forEach(function (p) { ys[at[p[0]]] = typeof p[1] === 'number' ? p[1] : null; });
      out.push(ys);
    });
    return out;
  }

  /* The client's per-second series as points, for drawing beside the server's. */
  function clientPoints(b, key, scale) {
    var ts = Array.isArray(b.timeseries) ? b.timeseries : [];
    return ts.filter(function (p) { return typeof p.t === 'number' && typeof p[key] === 'number'; })
      .map(function (p) { return [p.t, p[key] * (scale || 1)]; });
  }

  /* A cumulative counter as a per-second rate between consecutive scrapes; a drop is a restart
   * from zero (the later value is the increase, as PromQL's rate() counts it). */
  function counterRate(pts) {
    var out = [];
    for (var i = 1; i < pts.length; i++) {
      var dt = pts[i][0] - pts[i - 1][0], dv = pts[i][1] - pts[i - 1][1];
      if (dt > 0) out.push([pts[i][0], (dv >= 0 ? dv : pts[i][1]) / dt]);
    }
    return out;
  }

  /* One x range for every chart of the benchmark: from 0 to the last client second or scrape. */
  function benchRange(b) {
    var hi = 1;
    (Array.isArray(b.timeseries) ? b.timeseries : []).forEach(function (p) { if (p.t > hi) hi = p.t; });
    var series = (b.server && b.server.series) || {};
    Object.keys(series).forEach(function (k) {
      (Array.isArray(series[k]) ? series[k] : []).forEach(function (p) { if (p[0] > hi) hi = p[0]; });
    });
    return function () { return [0, hi]; };
  }

  var SRV = { running: '#2563eb', waiting: '#dc2626', kv: '#7c3aed', gpu: '#f59e0b', sm: '#059669',
              dram: '#0891b2', gen: '#059669', prompt: '#2563eb' };

  /* parts: [{pts, label, color, scale, dash}] drawn on a shared time axis. */
  function serverChart(el, b, title, parts, axes, scales) {
    /* A counter scraped once has no rate yet: an empty chart then, not an error. */
    var shown = parts.filter(function (p) { return p.pts && p.pts.length; });
    parts = shown.length ? shown : [{ pts: [], label: parts[0].label, color: parts[0].color, scale: parts[0].scale }];
    var series = [{ label: 't', value: function (u, v) { return v == null ? '\u2013' : fmt(v) + ' s'; } }];
    parts.forEach(function (p) {
      series.push({ label: p.label, stroke: p.color, width: 2, scale: p.scale, dash: p.dash, spanGaps: true,
                    value: unitFmt(p.unit || ''), points: { show: true, size: 4, fill: p.color } });
    });
    scales.x = { time: false, range: benchRange(b) };
    draw(el, title, { scales: scales, series: series, axes: [axis('time (s)')].concat(axes) },
         joinPoints(parts.map(function (p) { return p.pts; })));
  }

  var zeroUp = function (u, lo, hi) { return [0, hi > 0 ? hi * 1.1 : 1]; };

  function serverQueue(el, b) {
    serverChart(el, b, 'Server: running and waiting, client in flight', [
      { pts: srvSeries(b, 'running'), label: 'running', color: SRV.running, scale: 'n' },
      { pts: srvSeries(b, 'waiting'), label: 'waiting', color: SRV.waiting, scale: 'n' },
      { pts: clientPoints(b, 'in_flight'), label: 'client in flight', color: C.inflight, scale: 'n', dash: [6, 4] }
    ], [axis('requests', { scale: 'n', size: 50 })], { n: { range: zeroUp } });
  }

  function pctOf(pts) {
    return pts ? pts.map(function (p) { return [p[0], 100 * p[1]]; }) : null;
  }

  function serverUsage(el, b) {
    serverChart(el, b, 'Server: KV cache and GPU (%)', [
      { pts: pctOf(srvSeries(b, 'kv_usage')), label: 'kv cache', color: SRV.kv, scale: 'pct', unit: '%' },
      { pts: pctOf(srvSeries(b, 'gpu_util')), label: 'gpu util', color: SRV.gpu, scale: 'pct', unit: '%' },
      { pts: pctOf(srvSeries(b, 'sm_active')), label: 'sm active', color: SRV.sm, scale: 'pct', unit: '%' },
      { pts: pctOf(srvSeries(b, 'dram_active')), label: 'dram active', color: SRV.dram, scale: 'pct', unit: '%' }
    ], [axis('%', { scale: 'pct', size: 50 })], { pct: { range: [0, 100] } });
  }

  function serverTokens(el, b) {
    var gen = srvSeries(b, 'generation_tokens'), prompt = srvSeries(b, 'prompt_tokens');
    serverChart(el, b, 'Server: tokens/s, client output tok/s', [
      { pts: gen && counterRate(gen), label: 'server generation', color: SRV.gen, scale: 'tps' },
      { pts: prompt && counterRate(prompt), label: 'server prompt', color: SRV.prompt, scale: 'tps' },
      { pts: clientPoints(b, 'output_tps'), label: 'client output', color: C.tps, scale: 'tps', dash: [6, 4] }
    ], [axis('tokens/s', { scale: 'tps', size: 60 })], { tps: { range: zeroUp } });
  }

  /* Sessions: TTFT percentiles against the turn index (a prefix cache shows as later turns staying
   * low while the history they carry grows). */
  function ttftByTurn(el, b) {
    var gs = (Array.isArray(b.by_turn) ? b.by_turn : []).filter(function (g) { return typeof g.turn === 'number'; });
    var data = [gs.map(function (g) { return g.turn; })];
    var series = [{ label: 'turn' }];
    [pctSeries[0], pctSeries[1]].forEach(function (s) {
      data.push(gs.map(function (g) { return get(g, ['ttft_ms', s.key]); }));
      series.push({ label: 'TTFT ' + s.label, stroke: s.color, width: 2, value: unitFmt('ms'),
                    points: { show: true, size: 7, fill: s.color } });
    });
    draw(el, 'TTFT by turn', {
      scales: { x: { time: false, range: padRange }, y: { range: function (u, lo, hi) { return [0, hi * 1.1 || 1]; } } },
      series: series,
      axes: [axis('turn'), axis('TTFT (ms)', { size: 60 })]
    }, data);
  }

  function parse(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  function run() {
    var doc = parse('llmload-report') || {};
    var buckets = parse('llmload-buckets') || [];
    var benches = Array.isArray(doc.benchmarks) ? doc.benchmarks : [];
    sweepMarks(doc);
    var slots = document.querySelectorAll('[data-chart]');
    body.dataset.chartsExpected = String(slots.length);
    Array.prototype.forEach.call(slots, function (el) {
      try {
        var kind = el.getAttribute('data-chart');
        var i = Number(el.getAttribute('data-bench'));
        var b = benches[i], hb = buckets[i] || {};
        if (kind === 'sweep-ttft') sweepLatency(el, benches, 'ttft_ms', 'TTFT');
        else if (kind === 'sweep-itl') sweepLatency(el, benches, 'itl_ms', 'ITL');
        else if (kind === 'sweep-e2e') sweepLatency(el, benches, 'e2e_ms', 'E2E');
        else if (kind === 'sweep-tps') sweepThroughput(el, benches);
        else if (!b) throw new Error('no benchmark ' + i + ' for chart ' + kind);
        else if (kind === 'ttft') histogram(el, b, hb.ttft_ms, 'ttft_ms', 'TTFT', 'requests');
        else if (kind === 'itl') histogram(el, b, hb.itl_ms, 'itl_ms', 'ITL', 'token gaps');
        else if (kind === 'timeseries') timeseries(el, b);
        else if (kind === 'ttft-turn') ttftByTurn(el, b);
        else if (kind === 'server-queue') serverQueue(el, b);
        else if (kind === 'server-usage') serverUsage(el, b);
        else if (kind === 'server-tokens') serverTokens(el, b);
        else throw new Error('unknown chart ' + kind);
      } catch (e) {
        errors.push(String(e && e.message || e));
      }
    });
    body.dataset.chartsDrawn = String(drawn);
    /* For scripts/screenshot-report.sh: headless Chromium screenshots the window, not the page.
     * Measured after uPlot's deferred sizing has run, not straight after the constructors. */
    setTimeout(function () {
      body.dataset.pageHeight = String(Math.ceil(document.documentElement.scrollHeight));
    }, 50);
    if (errors.length)
      body.dataset.jsErrors = (body.dataset.jsErrors ? body.dataset.jsErrors + ' | ' : '') + errors.join(' | ');
  }

  var resizeTimer = null;
  window.addEventListener('resize', function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(function () {
      plots.forEach(function (p) { p.u.setSize({ width: width(p.el), height: 240 }); });
    }, 100);
  });

  try { run(); } catch (e) {
    body.dataset.jsErrors = (body.dataset.jsErrors ? body.dataset.jsErrors + ' | ' : '') + String(e && e.message || e);
  }
})();
