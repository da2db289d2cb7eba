// A process model's diagram on the process model pages, drawn with the vendored
// bpmn-js NavigatedViewer from the version's own BPMN file (data-url). On the
// version diff page, data-marks holds {element id: marker class} and each marked
// element is coloured; the page lists every change in a table as well, so the
// colours only repeat it. data-ready says how drawing went ("true" or "failed").
(function () {
  'use strict';

  async function draw(container) {
    const response = await fetch(container.dataset.url, { credentials: 'same-origin' });
    if (!response.ok) {
      throw new Error('diagram: HTTP ' + response.status);
    }
    const xml = await response.text();
    container.hidden = false; // bpmn-js measures its container: it must be shown first
    const viewer = new window.BpmnJS({ container: container });
    await viewer.importXML(xml);
    const canvas = viewer.get('canvas');
    const registry = viewer.get('elementRegistry');
    canvas.zoom('fit-viewport');
    const marks = JSON.parse(container.dataset.marks || '{}');
    Object.keys(marks).forEach(function (id) {
      if (registry.get(id)) {
        canvas.addMarker(id, marks[id]);
      }
    });
    container.dataset.ready = 'true';
  }

  document.addEventListener('DOMContentLoaded', function () {
    if (!window.BpmnJS) {
      return;
    }
    document.querySelectorAll('.model-diagram').forEach(function (container) {
      draw(container).catch(function (error) {
        container.hidden = true;
        container.dataset.ready = 'failed';
        console.error('diagram not drawn:', error);
      });
    });
  });
})();
