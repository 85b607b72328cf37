// Injected into the explorer page before its own scripts by bench/browser.py
// (Page.addScriptToEvaluateOnNewDocument). Everything goes into window.__bench; all times
// are performance.now(), in ms since navigation began.
// Wrapped in a function, so that none of its names can clash with the page's own.
(() => {
  performance.setResourceTimingBufferSize(100000);
  window.__bench = {frames: [], drawn: null, down: null, panel: null, panelFrame: null,
                    panelName: null, before: null};
  const B = window.__bench;
  const graph = () => document.querySelector('#explorer-map .js-plotly-plot');
  const shownName = () => {
    const el = document.getElementById('neuron-name');
    return el && el.firstChild ? el.firstChild.textContent : null;
  };
  const frame = () => {
    B.frames.push(performance.now());
    if (B.drawn === null) {
      const gd = graph();
      if (gd && gd.data && gd._fullLayout &&
          gd.data.some((tr) => tr.x && tr.x.length > 0)) { B.drawn = performance.now(); }
    }
    requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
  // The event's own timestamp: when the press happened, even if the page was busy then.
  document.addEventListener('mousedown', (e) => { B.down = e.timeStamp; }, true);
  new MutationObserver(() => {
    if (B.down === null || B.panel !== null) { return; }
    const name = shownName();
    if (name !== null && name !== B.before) {
      B.panel = performance.now();
      B.panelName = name;
      requestAnimationFrame(() => { B.panelFrame = performance.now(); });
    }
  }).observe(document, {childList: true, subtree: true, characterData: true});
  // Dash callbacks: which outputs, when asked, when the answer's headers came back.
  B.requests = [];
  const fetch0 = window.fetch;
  window.fetch = function (input, init) {
    const url = typeof input === 'string' ? input : input.url;
    if (!url.includes('_dash-update-component')) { return fetch0.apply(this, arguments); }
    const rec = {output: '', start: performance.now(), end: null};
    try { rec.output = JSON.parse(init.body).output; } catch (e) { /* not JSON */ }
    B.requests.push(rec);
    return fetch0.apply(this, arguments).then((r) => { rec.end = performance.now(); return r; });
  };
  B.arm = () => { B.down = null; B.panel = null; B.panelFrame = null; B.panelName = null;
                  B.before = shownName(); };
})();
