// The map's cluster outlines and labels (app/components/clusters.py makes them): spliced
// into the map figure in the browser, so showing, hiding or picking one never sends the
// map's points again. `apply` returns `fig` itself when the figure already shows them.
window.semvecClusters = {
  apply: function (fig, clusters, picked) {
    if (!fig || !fig.data || !fig.data.length || !fig.layout) { return fig; }
    const fits = clusters && clusters.shown && clusters.revision === fig.layout.uirevision;
    const chosen = picked && fits && picked.revision === clusters.revision ? picked.id : null;
    const sign = fits ? clusters.revision + '|' + chosen : '';
    const old = fig.data.filter(function (t) { return t.meta === 'cluster'; });
    if ((old.length ? old[0].legendgroup : '') === sign) { return fig; }
    const data = fig.data.filter(function (t) { return t.meta !== 'cluster'; });
    const notes = (fig.layout.annotations || []).filter(function (a) {
      return !String(a.name || '').startsWith('cluster-');
    });
    if (fits) {
      const traces = clusters.traces.map(function (t) {
        const mine = t.uid === 'cluster-' + chosen;
        const line = mine ? { color: '#d62728', width: 3, dash: 'solid' } : t.line;
        return Object.assign({}, t, { legendgroup: sign, line: line });
      });
      // Under the overlays (search hits, neighbours, the selected neuron), over the points.
      let at = data.findIndex(function (t) { return t.meta && t.meta !== 'filtered'; });
      if (at < 0) { at = data.length; }
      data.splice.apply(data, [at, 0].concat(traces));
      // The picked cluster's tag shows its whole label (the others, only their number).
      clusters.notes.forEach(function (n) {
        const mine = n.name === 'cluster-' + chosen;
        const full = { text: clusters.titles[chosen], bordercolor: '#d62728', borderwidth: 2 };
        notes.push(mine ? Object.assign({}, n, full) : n);
      });
    }
    const layout = Object.assign({}, fig.layout, { annotations: notes });
    return Object.assign({}, fig, { data: data, layout: layout });
  },
};
