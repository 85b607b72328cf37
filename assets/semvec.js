// Clientside helpers for the map (Dash loads every .js file in assets/).
window.semvec = {
  // Fill the map's last two traces (neighbours, selected) from focus.ids = [selected, ...neighbours],
  // looking the points up by neuron id in the figure itself: no server round trip.
  highlight: function (focus, fig) {
    const noUpdate = window.dash_clientside.no_update;
    if (!fig || !fig.data || fig.data.length < 2) { return noUpdate; }
    const ids = (focus && focus.ids) || [];
    const n = fig.data.length;
    const current = (fig.data[n - 1].customdata || []).concat(fig.data[n - 2].customdata || []);
    if (current.length === ids.length && ids.every(function (id, k) {
      return k === 0 ? fig.data[n - 1].customdata[0] === id : current.indexOf(id) >= 0;
    })) { return noUpdate; }
    const want = new Set(ids);
    const where = {};
    for (let t = 0; t < n - 2; t++) {
      const trace = fig.data[t];
      const custom = trace.customdata || [];
      for (let k = 0; k < custom.length; k++) {
        if (want.has(custom[k])) { where[custom[k]] = [trace.x[k], trace.y[k]]; }
      }
    }
    const shown = function (list) { return list.filter(function (id) { return where[id]; }); };
    const sel = shown(ids.slice(0, 1));
    const nbr = shown(ids.slice(1));
    const points = function (trace, list) {
      return Object.assign({}, trace, {
        x: list.map(function (id) { return where[id][0]; }),
        y: list.map(function (id) { return where[id][1]; }),
        customdata: list,
      });
    };
    const data = fig.data.slice();
    data[n - 2] = points(data[n - 2], nbr);
    data[n - 1] = points(data[n - 1], sel);
    return Object.assign({}, fig, { data: data });
  },
};
