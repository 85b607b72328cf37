// Clientside helpers for the map (Dash loads every .js file in assets/).
window.semvec = {
  // Fill the map's overlay traces (meta "found", "neighbours", "selected") from
  // focus.ids = [selected, ...neighbours] and found.ids (search hits), looking the points up
  // by neuron id in the figure itself: no server round trip.
  highlight: function (focus, found, fig) {
    const noUpdate = window.dash_clientside.no_update;
    if (!fig || !fig.data) { return noUpdate; }
    const slot = {};
    fig.data.forEach(function (t, k) { if (t.meta) { slot[t.meta] = k; } });
    if (slot.selected === undefined) { return noUpdate; }
    const ids = (focus && focus.ids) || [];
    const wanted = {
      selected: ids.slice(0, 1),
      neighbours: ids.slice(1),
      found: (found && found.ids) || [],
    };
    const want = new Set([].concat(wanted.selected, wanted.neighbours, wanted.found));
    const where = {};
    fig.data.forEach(function (trace) {
      if (trace.meta && trace.meta !== 'filtered') { return; }
      const custom = trace.customdata || [];
      for (let k = 0; k < custom.length; k++) {
        if (want.has(custom[k])) { where[custom[k]] = [trace.x[k], trace.y[k]]; }
      }
    });
    // Only ids drawn on this map; comparing those (not the wish) ends the echo of our own update.
    const lists = {};
    Object.keys(wanted).forEach(function (name) {
      lists[name] = wanted[name].filter(function (id) { return where[id]; });
    });
    const same = function (a, b) {
      return a.length === b.length && a.every(function (v, k) { return v === b[k]; });
    };
    if (Object.keys(lists).every(function (name) {
      return slot[name] === undefined || same(fig.data[slot[name]].customdata || [], lists[name]);
    })) { return noUpdate; }
    const data = fig.data.slice();
    Object.keys(wanted).forEach(function (name) {
      if (slot[name] === undefined) { return; }
      const list = lists[name];
      data[slot[name]] = Object.assign({}, data[slot[name]], {
        x: list.map(function (id) { return where[id][0]; }),
        y: list.map(function (id) { return where[id][1]; }),
        customdata: list,
      });
    });
    return Object.assign({}, fig, { data: data });
  },

  // Scroll the column that holds the element `id` so that the element's top shows, once
  // the page has drawn it (a result added at the top of a column scrolled down is out of
  // view). Only that column scrolls, not the page.
  reveal: function (id) {
    window.requestAnimationFrame(function () {
      const el = document.getElementById(id);
      let column = el && el.parentElement;
      while (column && column !== document.body) {
        const overflow = window.getComputedStyle(column).overflowY;
        if (overflow === 'auto' || overflow === 'scroll') { break; }
        column = column.parentElement;
      }
      if (!el || !column || column === document.body) { return; }
      const gap = el.getBoundingClientRect().top - column.getBoundingClientRect().top;
      column.scrollTop += gap - 8;
    });
  },
};

// Keys for the neuron panel: Esc closes an enlarged image if one is open, else the panel;
// n / p move to the next / previous neighbour button (Enter opens it). Ignored while typing
// in a field.
document.addEventListener('keydown', function (event) {
  const target = event.target;
  if (event.ctrlKey || event.metaKey || event.altKey) { return; }
  if (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) {
    return;
  }
  const panel = document.getElementById('explorer-panel');
  if (!panel || panel.offsetParent === null) { return; }  // the Map tab is not shown
  if (event.key === 'Escape') {
    const close = panel.querySelector('.zoom') || panel.querySelector('.panel-close');
    if (close) { close.click(); event.preventDefault(); }
    return;
  }
  if (event.key !== 'n' && event.key !== 'p') { return; }
  const buttons = Array.from(panel.querySelectorAll('.neighbor'));
  if (!buttons.length) { return; }
  const at = buttons.indexOf(document.activeElement);
  let next = event.key === 'n' ? at + 1 : at - 1;
  if (at < 0) { next = event.key === 'n' ? 0 : buttons.length - 1; }
  next = (next + buttons.length) % buttons.length;
  buttons[next].focus();
  buttons[next].scrollIntoView({ block: 'nearest' });
  event.preventDefault();
});
