/* The compare page's script (inlined by src/compare_html.c after uPlot): overlays the two runs'
 * latency curves against achieved rate, baseline solid and candidate dashed. It loads nothing.
 * When done it sets body data-charts-drawn and data-charts-expected; errors go to data-js-errors. */
(function () {
  'use strict';
  var body = document.body;
  var drawn = 0, errors = [];
  var C = { p50: '#2563eb', p95: '#f59e0b', p99: '#dc2626', grid: '#e5e7eb', axis: '#4b5563' };

  function axis(label, extra) {
    var a = { label: label, stroke: C.axis, labelSize: 22, grid: { stroke: C.grid, width: 1 },
              ticks: { stroke: C.grid, width: 1 } };
    for (var k in extra) a[k] = extra[k];
    return a;
  }

  function pct(b, key, p) {
    var m = b.metrics && b.metrics[key];
    if (!m || m.count === 0 || typeof m[p] !== 'number') return null;
    return m[p];
  }

  /* Each run's knee (comparison.knee, knee.c's rule) as a vertical line, baseline solid and
   * candidate dashed; a chart that drew one says so in data-knee-drawn (tests read it). */
  function kneeHooks(el, data) {
    var k = (data.comparison && data.comparison.knee) || {};
    var marks = [['baseline', []], ['candidate', [6, 4]]].filter(function (m) {
      return k[m[0]] && typeof k[m[0]].rate === 'number';
    });
    if (!marks.length) return {};
    return { draw: [function (u) {
      var ctx = u.ctx, dpr = window.devicePixelRatio || 1, b = u.bbox;
      marks.forEach(function (m, i) {
        var rate = k[m[0]].rate, x = Math.round(u.valToPos(rate, 'x', true));
        if (!(x >= b.left && x <= b.left + b.width)) return;
        ctx.save();
        ctx.strokeStyle = ctx.fillStyle = '#111827';
        ctx.lineWidth = 1.5 * dpr;
        ctx.setLineDash(m[1].map(function (d) { return d * dpr; }));
        ctx.beginPath();
        ctx.moveTo(x, b.top);
        ctx.lineTo(x, b.top + b.height);
        ctx.stroke();
        ctx.font = Math.round(11 * dpr) + 'px system-ui, sans-serif';
        var label = m[0] + ' knee ' + (Math.round(rate * 100) / 100) + ' req/s';
        ctx.textAlign = x + ctx.measureText(label).width + 4 * dpr > b.left + b.width ? 'right' : 'left';
        ctx.fillText(label, x + (ctx.textAlign === 'right' ? -4 : 4) * dpr, b.top + (14 + 14 * i) * dpr);
        ctx.restore();
        el.setAttribute('data-knee-drawn', '1');
      });
    }] };
  }

  /* One x axis for both runs: every achieved rate of either, a run's value null where it has no
   * point (spanGaps draws its line through). */
  function chart(el, data, key, name) {
    var runs = [data.baseline.points, data.candidate.points];
    var xs = [];
    runs.forEach(function (ps) { ps.forEach(function (b) { if (typeof b.achieved_rate === 'number') xs.push(b.achieved_rate); }); });
    xs.sort(function (a, b) { return a - b; });
    xs = xs.filter(function (x, i) { return i === 0 || x !== xs[i - 1]; });
    var cols = [xs], series = [{ label: 'achieved req/s' }];
    ['p50', 'p95', 'p99'].forEach(function (p) {
      runs.forEach(function (ps, r) {
        cols.push(xs.map(function (x) {
          for (var i = 0; i < ps.length; i++) if (ps[i].achieved_rate === x) return pct(ps[i], key, p);
          return null;
        }));
        series.push({ label: (r ? 'candidate ' : 'baseline ') + p, stroke: C[p], width: 2, spanGaps: true,
                      dash: r ? [6, 4] : undefined, points: { show: true, size: 6 } });
      });
    });
    var w = Math.max(300, Math.floor(el.clientWidth || 600));
    new uPlot({ title: name + ': baseline (solid) and candidate (dashed)', width: w, height: 260,
                hooks: kneeHooks(el, data), scales: { x: { time: false } }, series: series,
                axes: [axis('achieved rate (req/s)'), axis(name + ' (ms)', { size: 60 })] }, cols, el);
    drawn++;
  }

  try {
    var data = JSON.parse(document.getElementById('llmload-compare').textContent);
    var slots = document.querySelectorAll('[data-chart]');
    body.dataset.chartsExpected = String(slots.length);
    Array.prototype.forEach.call(slots, function (el) {
      try {
        var k = el.getAttribute('data-chart');
        chart(el, data, k, k === 'ttft_ms' ? 'TTFT' : k === 'itl_ms' ? 'ITL' : 'E2E');
      } catch (e) { errors.push(String(e && e.message || e)); }
    });
  } catch (e) { errors.push(String(e && e.message || e)); }
  body.dataset.chartsDrawn = String(drawn);
  if (errors.length) body.dataset.jsErrors = errors.join(' | ');
})();
