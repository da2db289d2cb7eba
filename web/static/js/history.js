/*
 * The case history's diagram: the path the case took, drawn with the vendored
 * bpmn-js NavigatedViewer. An enhancement only: without this script the
 * section stays hidden and the timeline table tells the whole story.
 *
 * Everything comes from the page (data-* attributes, the words already
 * translated) and from diagram.json, which carries element ids, never case data.
 */
(function () {
  'use strict';

  var section = document.getElementById('history-diagram');
  if (!section || typeof window.BpmnJS !== 'function' || !window.fetch) {
    return;
  }

  var MARKERS = {
    completed: 'nrm-completed',
    active: 'nrm-active',
    waiting_timers: 'nrm-waiting',
    taken_flows: 'nrm-taken'
  };
  var backButton = document.getElementById('history-diagram-back');
  var processLabel = document.getElementById('history-diagram-process');
  var eventList = document.getElementById('history-element-events');
  var viewer = new window.BpmnJS({ container: '#history-canvas' });
  var parents = []; // the processes opened before this one: [{id, name}]
  var shown = null; // the diagram.json now drawn, plus its name

  /* A translated sentence from a data-text-* attribute, with {placeholders} filled in. */
  function words(key, values) {
    var text = section.dataset[key] || '';
    Object.keys(values || {}).forEach(function (name) {
      text = text.split('{' + name + '}').join(values[name]);
    });
    return text;
  }

  function processName(id) {
    var definitions = viewer.getDefinitions();
    var found = (definitions && definitions.rootElements || []).filter(function (element) {
      return element.$type === 'bpmn:Process' && element.id === id;
    })[0];
    return (found && found.name) || id;
  }

  function elementName(id) {
    var element = viewer.get('elementRegistry').get(id);
    var name = element && element.businessObject && element.businessObject.name;
    return name || id;
  }

  function mark(data) {
    var canvas = viewer.get('canvas');
    var registry = viewer.get('elementRegistry');
    Object.keys(MARKERS).forEach(function (kind) {
      (data[kind] || []).forEach(function (id) {
        if (registry.get(id)) {
          canvas.addMarker(id, MARKERS[kind]);
        }
      });
    });
  }

  function clearHighlights() {
    document.querySelectorAll('tr.history-highlight').forEach(function (row) {
      row.classList.remove('history-highlight');
    });
  }

  /* The events of one element: highlighted rows, and a short list of links to them. */
  function showEvents(id) {
    clearHighlights();
    eventList.textContent = '';
    var seqs = (shown.events_by_element || {})[id] || [];
    var name = elementName(id);
    var heading = document.createElement('p');
    if (!seqs.length) {
      heading.textContent = words('textNone', { element: name });
      eventList.appendChild(heading);
      return;
    }
    heading.textContent = words('textEvents', { element: name });
    eventList.appendChild(heading);
    var list = document.createElement('ul');
    seqs.forEach(function (seq) {
      var row = document.getElementById('event-' + seq);
      if (row) {
        row.classList.add('history-highlight');
      }
      var link = document.createElement('a');
      link.href = '#event-' + seq;
      link.textContent = words('textEvent', { seq: String(seq) });
      var item = document.createElement('li');
      item.appendChild(link);
      list.appendChild(item);
    });
    eventList.appendChild(list);
    var first = document.getElementById('event-' + seqs[0]);
    if (first) {
      first.scrollIntoView({ block: 'center' });
    }
  }

  function showNavigation() {
    var parent = parents[parents.length - 1];
    backButton.hidden = !parent;
    if (parent) {
      backButton.textContent = words('textBack', { process: parent.name });
    }
    processLabel.textContent = shown.name;
    section.dataset.shownProcess = shown.process;
  }

  function open(process) {
    var url = section.dataset.url + '?process=' + encodeURIComponent(process);
    return fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error('diagram ' + response.status);
        }
        return response.json();
      })
      .then(function (data) {
        return viewer.importXML(data.xml).then(function () {
          shown = data;
          shown.name = processName(data.process);
          mark(data);
          viewer.get('canvas').zoom('fit-viewport');
          eventList.textContent = '';
          clearHighlights();
          showNavigation();
          section.dataset.ready = 'true';
        });
      })
      .catch(function () {
        eventList.textContent = words('textFailed');
      });
  }

  viewer.get('eventBus').on('element.click', function (event) {
    var clicked = event.element && (event.element.labelTarget || event.element);
    var id = clicked && clicked.id;
    if (!shown || !id || !clicked.parent) {
      return; // the canvas itself
    }
    var called = (shown.call_activities || {})[id];
    if (called) {
      parents.push({ id: shown.process, name: shown.name });
      section.dataset.ready = 'false';
      open(called);
      return;
    }
    showEvents(id);
  });

  backButton.addEventListener('click', function () {
    var parent = parents.pop();
    if (parent) {
      section.dataset.ready = 'false';
      open(parent.id);
    }
  });

  section.hidden = false;
  open(section.dataset.process);
})();
