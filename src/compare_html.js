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
                scales: { x: { time: false } }, series: series,
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
