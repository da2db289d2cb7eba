/*
 * The modeler's list of what validation (or importing) found: each problem
 * and warning in words, its drawn element marked on the canvas with a badge
 * beside it that says how many and what (hover or click it), and a button
 * that scrolls to and selects that element.
 *
 * `window.NrmflowModelerProblems(modeler, helpers)` takes the bpmn-js
 * modeler and the page's helpers ($ for elements by id, words for its
 * data-text-* sentences); it returns showProblems(problems, warnings), which
 * replaces the lists and markers of the last call.
 */
(function () {
  'use strict';

  var MARKERS = { problem: 'nrm-problem', warning: 'nrm-warning', shown: 'nrm-problem-shown' };
  var BADGES = 'nrm-problem-badge'; // the overlay type: removed all together on the next call

  window.NrmflowModelerProblems = function (modeler, helpers) {
    var $ = helpers.$;
    var words = helpers.words;
    var canvas = modeler.get('canvas');
    var registry = modeler.get('elementRegistry');
    var selection = modeler.get('selection');
    var overlays = modeler.get('overlays');
    var marked = []; // [element id, marker] pairs of the last validation

    /*
     * The drawn element a problem names. The validator may name what is not
     * drawn itself (a timer definition, a process inside a pool): then the
     * nearest drawn element holding it, or the pool drawn for the process.
     */
    function elementFor(id) {
      if (!id) {
        return null;
      }
      if (registry.get(id)) {
        return registry.get(id);
      }
      for (var bo = findModdle(modeler.getDefinitions(), id); bo; bo = bo.$parent) {
        var drawn = drawnFor(bo);
        if (drawn) {
          return drawn;
        }
      }
      return null;
    }

    function drawnFor(bo) {
      return registry.filter(function (element) {
        var own = element.businessObject;
        return !element.labelTarget && (own === bo || own.processRef === bo);
      })[0];
    }

    /* The moddle element with this id, searched through what each element contains. */
    function findModdle(node, id) {
      if (!node || !node.$descriptor) {
        return null;
      }
      if (node.id === id) {
        return node;
      }
      var properties = node.$descriptor.properties || [];
      for (var i = 0; i < properties.length; i++) {
        var property = properties[i];
        if (property.isReference || property.isAttr) {
          continue;
        }
        var values = [].concat(node[property.name] || []);
        for (var j = 0; j < values.length; j++) {
          var found = findModdle(values[j], id);
          if (found) {
            return found;
          }
        }
      }
      return null;
    }

    function elementLabel(element, id) {
      var name = element && element.businessObject && element.businessObject.name;
      return name ? name + ' (' + id + ')' : id;
    }

    function problemText(problem, element) {
      var text = problem.element
        ? words('textProblem', {
            element: elementLabel(element, problem.element),
            message: problem.message
          })
        : problem.message;
      if (problem.line) {
        text += ' (' + words('textProblemLine', { file: problem.file, line: problem.line }) + ')';
      } else if (problem.file && !element) {
        text += ' (' + problem.file + ')'; // a form's problem: say which form
      }
      return text;
    }

    function showProblems(problems, warnings) {
      marked.forEach(function (pair) {
        if (registry.get(pair[0])) {
          canvas.removeMarker(pair[0], pair[1]);
        }
      });
      marked = [];
      overlays.remove({ type: BADGES });
      fillProblemList($('modeler-problem-list'), problems, MARKERS.problem);
      fillProblemList($('modeler-warning-list'), warnings, MARKERS.warning);
      $('modeler-warnings-title').hidden = !warnings.length;
      $('modeler-problems').hidden = !problems.length && !warnings.length;
    }

    function fillProblemList(list, problems, marker) {
      var texts = {}; // element id → what was found there, for its badge
      list.textContent = '';
      problems.forEach(function (problem) {
        var element = elementFor(problem.element);
        var item = document.createElement('li');
        if (element) {
          canvas.addMarker(element.id, marker);
          marked.push([element.id, marker]);
          (texts[element.id] = texts[element.id] || []).push(problemText(problem, element));
          var button = document.createElement('button');
          button.type = 'button';
          button.className = 'link-button';
          button.dataset.element = element.id;
          button.textContent = problemText(problem, element);
          button.addEventListener('click', function () {
            showElement(element);
          });
          item.appendChild(button);
        } else {
          item.textContent = problemText(problem, null);
        }
        list.appendChild(item);
      });
      Object.keys(texts).forEach(function (id) {
        addBadge(registry.get(id), texts[id], marker);
      });
    }

    /*
     * Beside the element: how many problems it has, and their words on hover.
     * The list above the canvas says the same to a screen reader, so the badge
     * is hidden from one; clicking it shows the element as the list does.
     */
    function addBadge(element, texts, marker) {
      var badge = document.createElement('button');
      badge.type = 'button';
      badge.className = BADGES + ' ' + marker;
      badge.textContent = String(texts.length);
      badge.title = texts.join('\n');
      badge.setAttribute('aria-hidden', 'true');
      badge.tabIndex = -1;
      badge.addEventListener('click', function () {
        showElement(element);
      });
      overlays.add(element, BADGES, { position: { top: -10, right: 10 }, html: badge });
    }

    function showElement(element) {
      marked.forEach(function (pair) {
        if (pair[1] === MARKERS.shown && registry.get(pair[0])) {
          canvas.removeMarker(pair[0], MARKERS.shown);
        }
      });
      canvas.scrollToElement(element);
      selection.select(element);
      canvas.addMarker(element.id, MARKERS.shown);
      marked.push([element.id, MARKERS.shown]);
    }

    return { showProblems: showProblems };
  };
})();
