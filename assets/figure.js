// Figures for papers, made in the browser from what is on screen (nothing is asked of the
// server): the map as drawn (dots, or the Pictures view's crops over it, with the legend,
// cluster outlines and tags) as PNG at twice the screen's resolution or as SVG, and the
// open neuron's panel (name, top images with their heatmaps, class bars) as one PNG.
window.semvecFigure = (function () {
  const SCALE = 2;  // PNG pixels per screen pixel
  const FONT = '-apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif';

  function graphIn(id) { return document.querySelector('#' + id + ' .js-plotly-plot'); }

  // `digits-default_umap_conv3-5.png`: run, map and neuron, safe on every file system.
  function fileName(parts, ext) {
    const safe = parts.filter(Boolean).map(function (p) {
      return String(p).replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '');
    });
    return safe.join('_') + '.' + ext;
  }

  function save(blob, name) {
    const url = URL.createObjectURL(blob);
    const a = document.createElement('a');
    a.href = url;
    a.download = name;
    document.body.appendChild(a);
    a.click();
    a.remove();
    window.setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
    return name;
  }

  function loaded(src) {
    return new Promise(function (resolve, reject) {
      const img = new Image();
      img.onload = function () { resolve(img); };
      img.onerror = function () { reject(new Error('cannot load ' + src)); };
      img.src = src;
    });
  }

  function asDataUrl(blob) {
    return new Promise(function (resolve) {
      const reader = new FileReader();
      reader.onload = function () { resolve(reader.result); };
      reader.readAsDataURL(blob);
    });
  }

  function canvasBlob(canvas) {
    return new Promise(function (resolve) { canvas.toBlob(resolve, 'image/png'); });
  }

  function px(value) { return parseFloat(value) || 0; }

  // The Pictures view's crops (CSS sprites of one sheet), where they sit over the graph:
  // [{x, y, w, h, sx, sy, sw, sh, border, color, count}] in screen px of the graph.
  function pictures(gd) {
    const layer = document.getElementById('explorer-pictures-layer');
    if (!picturesShown()) { return { sheet: null, items: [] }; }
    const origin = gd.getBoundingClientRect();
    let sheet = null;
    const items = [];
    layer.querySelectorAll('.map-picture').forEach(function (el) {
      const style = window.getComputedStyle(el);
      const url = (style.backgroundImage.match(/url\("?(.*?)"?\)/) || [])[1];
      if (!url) { return; }
      sheet = sheet || url;
      const box = el.getBoundingClientRect();
      const size = style.backgroundSize.split(' ');
      const pos = style.backgroundPosition.split(' ');
      const label = el.firstChild ? el.firstChild.textContent : '';
      items.push({
        x: box.left - origin.left + el.clientLeft, y: box.top - origin.top + el.clientTop,
        w: el.clientWidth, h: el.clientHeight, sheetWidth: px(size[0]),
        ox: -px(pos[0]), oy: -px(pos[1]), border: px(style.borderTopWidth),
        color: style.borderTopColor, count: label,
      });
    });
    return { sheet: sheet, items: items };
  }

  function crop(item, sheet) {  // the source rectangle of a picture in the sheet's pixels
    const k = sheet.naturalWidth / (item.sheetWidth || sheet.naturalWidth);
    return [item.ox * k, item.oy * k, item.w * k, item.h * k];
  }

  function drawPictures(ctx, found, sheet, scale) {
    ctx.imageSmoothingEnabled = false;  // as on screen: small crops stay sharp, not blurred
    found.items.forEach(function (it) {
      const [sx, sy, sw, sh] = crop(it, sheet);
      ctx.drawImage(sheet, sx, sy, sw, sh, it.x * scale, it.y * scale, it.w * scale, it.h * scale);
      if (it.border) {
        ctx.strokeStyle = it.color;
        ctx.lineWidth = it.border * scale;
        const b = it.border * scale / 2;
        ctx.strokeRect(it.x * scale - b, it.y * scale - b, it.w * scale + 2 * b, it.h * scale + 2 * b);
      }
      if (it.count) {
        ctx.font = 'bold ' + 10 * scale + 'px ' + FONT;
        const w = ctx.measureText(it.count).width + 6 * scale;
        ctx.fillStyle = 'rgba(255, 255, 255, 0.85)';
        ctx.fillRect((it.x + it.w) * scale - w, (it.y + it.h - 13) * scale, w, 13 * scale);
        ctx.fillStyle = '#111';
        ctx.fillText(it.count, (it.x + it.w) * scale - w + 3 * scale, (it.y + it.h - 3) * scale);
      }
    });
  }

  async function mapPng(gd) {
    const url = await window.Plotly.toImage(gd, {
      format: 'png', scale: SCALE, width: gd.offsetWidth, height: gd.offsetHeight,
    });
    const base = await loaded(url);
    const canvas = document.createElement('canvas');
    canvas.width = base.naturalWidth;
    canvas.height = base.naturalHeight;
    const ctx = canvas.getContext('2d');
    ctx.drawImage(base, 0, 0);
    const found = pictures(gd);
    if (found.items.length) { drawPictures(ctx, found, await loaded(found.sheet), SCALE); }
    return canvasBlob(canvas);
  }

  async function mapSvg(gd) {
    const url = await window.Plotly.toImage(gd, {
      format: 'svg', width: gd.offsetWidth, height: gd.offsetHeight,
    });
    let text = decodeURIComponent(url.slice(url.indexOf(',') + 1));
    const found = pictures(gd);
    if (found.items.length) {
      const sheet = await loaded(found.sheet);
      const data = await asDataUrl(await (await fetch(found.sheet)).blob());
      const svg = 'http://www.w3.org/2000/svg';
      const doc = new DOMParser().parseFromString(text, 'image/svg+xml');
      const root = doc.documentElement;
      const defs = doc.createElementNS(svg, 'defs');
      const image = doc.createElementNS(svg, 'image');
      image.setAttribute('id', 'semvec-sheet');
      image.setAttribute('href', data);
      image.setAttribute('width', sheet.naturalWidth);
      image.setAttribute('height', sheet.naturalHeight);
      image.setAttribute('style', 'image-rendering: pixelated');
      defs.appendChild(image);
      root.appendChild(defs);
      const group = doc.createElementNS(svg, 'g');
      group.setAttribute('class', 'semvec-pictures');
      found.items.forEach(function (it) {
        const [sx, sy, sw, sh] = crop(it, sheet);
        const cell = doc.createElementNS(svg, 'svg');
        [['x', it.x], ['y', it.y], ['width', it.w], ['height', it.h],
         ['viewBox', [sx, sy, sw, sh].join(' ')], ['preserveAspectRatio', 'none']]
          .forEach(function (a) { cell.setAttribute(a[0], a[1]); });
        const use = doc.createElementNS(svg, 'use');
        use.setAttribute('href', '#semvec-sheet');
        cell.appendChild(use);
        group.appendChild(cell);
        if (it.border) {
          const frame = doc.createElementNS(svg, 'rect');
          const b = it.border / 2;
          [['x', it.x - b], ['y', it.y - b], ['width', it.w + 2 * b], ['height', it.h + 2 * b],
           ['fill', 'none'], ['stroke', it.color], ['stroke-width', it.border]]
            .forEach(function (a) { frame.setAttribute(a[0], a[1]); });
          group.appendChild(frame);
        }
        if (it.count) {
          const label = doc.createElementNS(svg, 'text');
          [['x', it.x + it.w - 3], ['y', it.y + it.h - 3], ['text-anchor', 'end'],
           ['font-size', 10], ['font-weight', 'bold'], ['fill', '#111'], ['stroke', '#fff'],
           ['stroke-width', 2], ['paint-order', 'stroke'], ['font-family', FONT]]
            .forEach(function (a) { label.setAttribute(a[0], a[1]); });
          label.textContent = it.count;
          group.appendChild(label);
        }
      });
      root.appendChild(group);
      text = new XMLSerializer().serializeToString(doc);
    }
    return new Blob([text], { type: 'image/svg+xml' });
  }

  // The panel: its name and place, the top images as shown (heatmaps included) with their
  // activation and classes, then the class bars; one column, 3 images a row.
  async function panelPng(run) {
    const name = (document.getElementById('neuron-name') || {}).textContent || '';
    const where = (document.getElementById('neuron-id') || {}).textContent || '';
    const tiles = Array.from(document.querySelectorAll('#neuron-top-images .tile'));
    const chart = graphIn('neuron-class-chart');
    const cols = 3, tile = 240, gap = 12, pad = 16, caption = 34;
    const width = pad * 2 + cols * tile + (cols - 1) * gap;
    const rows = Math.ceil(tiles.length / cols);
    let bars = null;
    if (chart) {
      bars = await loaded(await window.Plotly.toImage(chart, {
        format: 'png', scale: SCALE, width: width - 2 * pad, height: chart.offsetHeight || 260,
      }));
    }
    const barsHeight = bars ? bars.naturalHeight / SCALE + gap : 0;
    const head = tiles.length ? 84 : 62;
    const height = head + rows * (tile + caption + gap) + barsHeight + pad;
    const canvas = document.createElement('canvas');
    canvas.width = width * SCALE;
    canvas.height = height * SCALE;
    const ctx = canvas.getContext('2d');
    ctx.scale(SCALE, SCALE);
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, width, height);
    ctx.fillStyle = '#111';
    ctx.font = 'bold 20px ' + FONT;
    ctx.fillText(name.trim(), pad, pad + 18);
    ctx.fillStyle = '#555';
    ctx.font = '13px ' + FONT;
    ctx.fillText((run ? 'run ' + run + ' · ' : '') + where.trim(), pad, pad + 38);
    if (tiles.length) {
      ctx.font = '12px ' + FONT;
      ctx.fillText('Top images: bright where the neuron fires, orange line at half its peak; '
                   + 'number: activation, #: dataset index', pad, pad + 58, width - 2 * pad);
    }
    tiles.forEach(function (el, k) {
      const x = pad + (k % cols) * (tile + gap), y = head + Math.floor(k / cols) * (tile + caption + gap);
      const img = el.querySelector('img');
      if (img && img.complete && img.naturalWidth) {
        const fit = Math.min(tile / img.naturalWidth, tile / img.naturalHeight);
        const w = img.naturalWidth * fit, h = img.naturalHeight * fit;
        ctx.drawImage(img, x + (tile - w) / 2, y + (tile - h) / 2, w, h);
      }
      const value = (el.querySelector('.tile-caption') || {}).textContent || '';
      const classes = (el.querySelector('.tile-classes') || {}).textContent || '';
      ctx.fillStyle = '#111';
      ctx.font = '12px ' + FONT;
      ctx.fillText(value.trim(), x, y + tile + 14, tile);
      ctx.fillStyle = '#555';
      ctx.font = '11px ' + FONT;
      ctx.fillText(classes.trim(), x, y + tile + 29, tile);
    });
    if (bars) {
      ctx.drawImage(bars, pad, height - pad - bars.naturalHeight / SCALE,
                    bars.naturalWidth / SCALE, bars.naturalHeight / SCALE);
    }
    return canvasBlob(canvas);
  }

  function picturesShown() {
    const layer = document.getElementById('explorer-pictures-layer');
    return Boolean(layer && layer.classList.contains('on'));
  }

  async function make(kind, view) {
    const run = view && view.run, method = view && view.method;
    if (kind === 'panel') {
      const neuron = ((document.getElementById('neuron-name') || {}).firstChild || {}).textContent;
      return save(await panelPng(run), fileName(['semvec', run, method, neuron], 'png'));
    }
    const gd = graphIn('explorer-map');
    if (!gd || !gd._fullLayout) { throw new Error('the map is not drawn yet'); }
    const parts = ['semvec', run, method, picturesShown() ? 'pictures' : null];
    if (kind === 'svg') { return save(await mapSvg(gd), fileName(parts, 'svg')); }
    return save(await mapPng(gd), fileName(parts, 'png'));
  }

  return {
    // Dash clientside callback: the file saved, or why none was, in words.
    download: async function (kind, view) {
      try {
        return 'Saved ' + await make(kind, view);
      } catch (err) {
        return 'No figure saved: ' + (err && err.message ? err.message : err);
      }
    },
  };
})();
