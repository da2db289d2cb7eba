// The heat overlay: each user task of a diagram coloured by its median duration.
// The page already lists every median in a table; this only draws them on the
// diagram (the vendored bpmn-js NavigatedViewer), from the page's JSON endpoint.
// The canvas says how drawing went in data-ready ("true" or "failed"), so
// browser tests, and anyone debugging, need not guess from the SVG.
(function () {
  'use strict';

  async function draw(container) {
    const response = await fetch(container.dataset.url, {
      credentials: 'same-origin',
      headers: { Accept: 'application/json' }
    });
    if (!response.ok) {
      throw new Error('heat data: HTTP ' + response.status);
    }
    const data = await response.json();
    container.hidden = false; // bpmn-js measures its container: it must be shown first
    const viewer = new window.BpmnJS({ container: container });
    await viewer.importXML(data.xml);
    const canvas = viewer.get('canvas');
    const overlays = viewer.get('overlays');
    const registry = viewer.get('elementRegistry');
    canvas.zoom('fit-viewport');
    Object.entries(data.tasks).forEach(([id, task]) => {
      if (!registry.get(id)) return;
      const level = task.level === null ? 'none' : String(task.level);
      canvas.addMarker(id, 'heat-' + level);
      const badge = document.createElement('span');
      badge.className = 'heat-badge';
      badge.textContent = task.median;
      overlays.add(id, { position: { bottom: 14, left: 0 }, html: badge });
    });
    container.dataset.ready = 'true';
  }

  document.addEventListener('DOMContentLoaded', function () {
    const container = document.getElementById('heat-canvas');
    if (container && window.BpmnJS) {
      draw(container).catch(function (error) {
        // the table below still gives every median; say why the picture is missing
        container.hidden = true;
        container.dataset.ready = 'failed';
        console.error('heat overlay not drawn:', error);
      });
    }
  });
})();
