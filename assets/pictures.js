// The map's Pictures view: each neuron drawn as its crop from the run's picture sheet (one
// image, CSS sprites), laid out over the plotly map from its axis ranges. Where pictures
// would overlap, the map is cut into cells of one picture's size; a cell shows one neuron
// (the selected one, else a search hit, else the one nearest the cell's centre) and how
// many it holds. Cells are fixed in the map's coordinates, so zooming in splits them until
// every neuron has its own. Pan and zoom redraw here, with no server round trip.
window.semvecPictures = (function () {
  const CELL = 48;  // px a cell takes on screen
  const PIC = 42;   // px a picture takes in it (the rest is a gap)
  const state = { look: 'dots', index: null, fig: null, focus: [], found: new Set(),
                  lasso: new Set() };
  let neurons = null;  // [{id, x, y, name, text, color}] of the figure `neuronsOf` saw
  let neuronsFig = null;
  let pending = false;

  function graph() { return document.querySelector('#explorer-map .js-plotly-plot'); }

  function unescape(html) {  // hover text is HTML-escaped for plotly; titles are text
    const box = document.createElement('textarea');
    box.innerHTML = html;
    return box.value;
  }

  function parseColor(c) {
    if (typeof c !== 'string') { return [152, 162, 179]; }
    if (c[0] === '#') {
      const n = parseInt(c.length === 4 ? c.replace(/#(.)(.)(.)/, '$1$1$2$2$3$3') : c.slice(1), 16);
      return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
    }
    const m = c.match(/[\d.]+/g);
    return m ? m.slice(0, 3).map(Number) : [152, 162, 179];
  }

  // The colour a value takes on a trace's resolved colour scale (continuous colourings).
  function onScale(marker, v) {
    const scale = marker.colorscale || [];
    const lo = marker.cmin, hi = marker.cmax;
    const t = hi > lo ? Math.min(1, Math.max(0, (v - lo) / (hi - lo))) : 0.5;
    for (let k = 1; k < scale.length; k++) {
      if (t <= scale[k][0]) {
        const a = parseColor(scale[k - 1][1]), b = parseColor(scale[k][1]);
        const f = (t - scale[k - 1][0]) / ((scale[k][0] - scale[k - 1][0]) || 1);
        return 'rgb(' + a.map(function (x, i) { return Math.round(x + f * (b[i] - x)); }) + ')';
      }
    }
    return scale.length ? scale[scale.length - 1][1] : '#98a2b3';
  }

  // The neurons drawn as pictures: those of the shown layers (overlay traces and the
  // greyed-out layers carry `meta` and are left out), with their legend colour.
  function neuronsOf(gd) {
    if (neuronsFig === gd.data && neurons) { return neurons; }
    const out = [];
    gd.data.forEach(function (trace, k) {
      if (trace.meta || !trace.customdata) { return; }
      const full = (gd._fullData && gd._fullData[k]) || trace;
      const marker = full.marker || {};
      const colors = Array.isArray(marker.color) ? marker.color : null;
      for (let i = 0; i < trace.customdata.length; i++) {
        const text = trace.text ? String(trace.text[i]) : String(trace.customdata[i]);
        out.push({
          id: trace.customdata[i], x: trace.x[i], y: trace.y[i], text: text,
          name: unescape(text.split(' · ')[0]),
          color: colors ? onScale(marker, colors[i]) : marker.color,
        });
      }
    });
    neurons = out;
    neuronsFig = gd.data;
    return out;
  }

  function rank(n, cx, cy) {  // lower is more representative
    if (state.focus[0] === n.id) { return -2; }
    if (state.found.has(n.id)) { return -1 + 1e-9 * ((n.x - cx) ** 2 + (n.y - cy) ** 2); }
    return (n.x - cx) ** 2 + (n.y - cy) ** 2;
  }

  // Cells of the visible part of the map: {cx, cy, best, count, found, lasso} by key.
  function cells(gd) {
    const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis, size = gd._fullLayout._size;
    const [x0, x1] = xa.range, [y0, y1] = ya.range;
    const sx = size.w / (x1 - x0), sy = size.h / (y1 - y0);
    const cw = CELL / sx, ch = CELL / sy;
    const out = new Map();
    neuronsOf(gd).forEach(function (n) {
      if (n.x < x0 || n.x > x1 || n.y < y0 || n.y > y1) { return; }
      const i = Math.floor(n.x / cw), j = Math.floor(n.y / ch);
      const key = i + ',' + j;
      let cell = out.get(key);
      if (!cell) {
        cell = { cx: (i + 0.5) * cw, cy: (j + 0.5) * ch, best: null, score: Infinity, count: 0,
                 found: false, lasso: false };
        out.set(key, cell);
      }
      const score = rank(n, cell.cx, cell.cy);
      if (score < cell.score) { cell.best = n; cell.score = score; }
      cell.count += 1;
      cell.found = cell.found || state.found.has(n.id);
      cell.lasso = cell.lasso || state.lasso.has(n.id);
    });
    return { cells: out, px: function (x, y) {
      return [size.l + (x - x0) * sx, size.t + (y1 - y) * sy];
    } };
  }

  function picture(layer, k) {
    let el = layer.children[k];
    if (el) { return el; }
    el = document.createElement('div');
    el.className = 'map-picture';
    el.setAttribute('role', 'img');
    el.appendChild(document.createElement('span'));
    layer.appendChild(el);
    return el;
  }

  function draw() {
    pending = false;
    const started = performance.now();
    const layer = document.getElementById('explorer-pictures-layer');
    const gd = graph();
    const index = state.index;
    const ready = layer && gd && gd._fullLayout && gd._fullLayout.xaxis && gd.data;
    if (!ready || state.look !== 'pictures' || !index) {
      if (layer) { layer.replaceChildren(); layer.removeAttribute('data-shown'); }
      return;
    }
    const scale = PIC / index.tile;
    const sheetSize = (index.columns * index.tile * scale) + 'px auto';
    const found = cells(gd);
    let k = 0;
    found.cells.forEach(function (cell) {
      const n = cell.best;
      const [left, top] = found.px(cell.cx, cell.cy);
      const el = picture(layer, k++);
      const row = Math.floor(n.id / index.columns), col = n.id % index.columns;
      el.style.left = (left - PIC / 2) + 'px';
      el.style.top = (top - PIC / 2) + 'px';
      el.style.backgroundImage = 'url("' + index.sheet + '")';
      el.style.backgroundSize = sheetSize;
      el.style.backgroundPosition = (-col * PIC) + 'px ' + (-row * PIC) + 'px';
      el.style.borderColor = n.color;
      el.title = n.name;
      el.setAttribute('aria-label', cell.count > 1
        ? n.name + ', and ' + (cell.count - 1) + ' more neuron' + (cell.count > 2 ? 's' : '') + ' here'
        : n.name);
      el.dataset.neuron = n.id;
      el.dataset.text = n.text;
      el.dataset.count = cell.count;
      el.firstChild.textContent = cell.count > 1 ? String(cell.count) : '';
      el.classList.toggle('selected', state.focus[0] === n.id);
      el.classList.toggle('neighbour', state.focus.indexOf(n.id) > 0);
      el.classList.toggle('found', cell.found);
      el.classList.toggle('lassoed', cell.lasso);
    });
    while (layer.children.length > k) { layer.lastChild.remove(); }
    layer.dataset.shown = String(k);
    layer.dataset.drawMs = (performance.now() - started).toFixed(1);  // read by bench/pictures.py
  }

  function later() {
    if (!pending) { pending = true; window.requestAnimationFrame(draw); }
  }

  // Pan, zoom and lasso go on over the pictures: a press that moves is handed to the
  // map's own drag layer (as if the pointer were on the map); one that does not is a click
  // that opens the picture's neuron, as a click on its dot does.
  function dragLayer() {
    const gd = graph();
    return gd && gd.querySelector('.nsewdrag');
  }

  function bind(layer) {
    if (layer.dataset.bound) { return; }
    layer.dataset.bound = '1';
    let press = null;
    layer.addEventListener('mousedown', function (e) {
      const el = e.target.closest('.map-picture');
      if (!el || e.button !== 0) { return; }
      e.preventDefault();
      press = { x: e.clientX, y: e.clientY, el: el, handed: false, init: e };
    });
    document.addEventListener('mousemove', function (e) {
      if (!press || press.handed) { return; }
      if (Math.abs(e.clientX - press.x) + Math.abs(e.clientY - press.y) < 4) { return; }
      press.handed = true;
      const drag = dragLayer();
      if (drag) {
        drag.dispatchEvent(new MouseEvent('mousedown', {
          bubbles: true, cancelable: true, clientX: press.x, clientY: press.y, button: 0,
          buttons: 1, shiftKey: press.init.shiftKey,
        }));
        document.dispatchEvent(new MouseEvent('mousemove', {
          bubbles: true, cancelable: true, clientX: e.clientX, clientY: e.clientY, buttons: 1,
        }));
      }
    });
    document.addEventListener('mouseup', function () {
      const was = press;
      press = null;
      if (!was || was.handed) { return; }
      window.dash_clientside.set_props('explorer-map', { clickData: { points: [{
        customdata: Number(was.el.dataset.neuron), text: was.el.dataset.text,
      }] } });
    });
    layer.addEventListener('wheel', function (e) {
      const drag = dragLayer();
      if (!drag || !e.target.closest('.map-picture')) { return; }
      e.preventDefault();
      drag.dispatchEvent(new WheelEvent('wheel', {
        bubbles: true, cancelable: true, clientX: e.clientX, clientY: e.clientY,
        deltaX: e.deltaX, deltaY: e.deltaY, deltaMode: e.deltaMode,
      }));
    }, { passive: false });
  }

  function watch(gd) {
    if (!gd || gd.__semvecPictures || !gd.on) { return; }
    gd.__semvecPictures = true;
    gd.on('plotly_relayout', later);
    gd.on('plotly_relayouting', later);
    gd.on('plotly_afterplot', later);
  }

  return {
    update: function (look, index, fig, focus, found, lasso) {
      state.look = look;
      state.index = index;
      state.focus = (focus && focus.ids) || [];
      state.found = new Set((found && found.ids) || []);
      state.lasso = new Set(lasso || []);
      const layer = document.getElementById('explorer-pictures-layer');
      if (layer) { bind(layer); }
      watch(graph());
      later();
      // The graph may draw the new figure after this returns: redraw once it has.
      window.setTimeout(function () { watch(graph()); later(); }, 50);
      return look === 'pictures' ? 'pictures-layer on' : 'pictures-layer';
    },
  };
})();
