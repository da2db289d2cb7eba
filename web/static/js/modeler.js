/*
 * The coordinator's browser modeler page: bpmn-js's Modeler on the canvas,
 * the round trips to the server (load, validate, save a draft, deploy), the
 * toolbar, the form editor, and the wiring of the parts kept in their own
 * files: modeler_commands.js (edits of the diagram), modeler_problems.js
 * (what validation found) and modeler_panel.js (the side panel).
 *
 * Every edit goes through bpmn-js's command stack (`modeling`, or one
 * `nrm.multi-command` bundling several), so Ctrl+Z and the Undo button undo
 * a panel edit exactly like a move on the canvas. The words shown come from
 * the page's data-text-* attributes; the script holds none of its own.
 *
 * Each save and deploy names the version and draft the page started from
 * (its base), so the server refuses (409) to overwrite what someone else
 * saved or deployed meanwhile; the diagram then stays as it is, for the
 * coordinator to download.
 */
(function () {
  'use strict';

  var page = document.getElementById('modeler');
  if (!page || typeof window.BpmnJS !== 'function' || !window.fetch) {
    return;
  }

  var PREVIEW_DELAY_MS = 400;
  var DOWNLOAD_URL_LIFETIME_MS = 40000; // as FileSaver.js: a slow disk may still read it

  var modeler = new window.BpmnJS({
    container: '#modeler-canvas',
    keyboard: { bind: true },
    moddleExtensions: { spiffworkflow: window.NRMFLOW_SPIFF_MODDLE }
  });
  var canvas = modeler.get('canvas');
  var registry = modeler.get('elementRegistry');
  var commandStack = modeler.get('commandStack');

  var state = {
    choices: { roles: [], decisions: [], processes: [], timer_helpers: [] },
    forms: {}, // every form: "forms/x.json" -> its JSON text
    changedForms: {}, // only those added or edited here: what the server is sent
    // what this page started from: a draft or deploy answers 409 if another one came since
    base: { version: null, draft_saved_at: null },
    dirty: false,
    busy: false,
    shown: null // the element the panel edits
  };

  function $(id) {
    return document.getElementById(id);
  }

  /* A translated sentence from a data-text-* attribute, with {placeholders} filled in. */
  function words(key, values) {
    var text = page.dataset[key] || '';
    Object.keys(values || {}).forEach(function (name) {
      text = text.split('{' + name + '}').join(String(values[name]));
    });
    return text;
  }

  function say(text) {
    $('modeler-status').textContent = text;
  }

  var helpers = { $: $, words: words, say: say };
  var commands = window.NrmflowModelerCommands(modeler);
  var problemLists = window.NrmflowModelerProblems(modeler, helpers);
  var panel = window.NrmflowModelerPanel(modeler, commands, state, helpers);


  // ------------------------------------------------------------------ server

  /*
   * GET (no body) or POST JSON, and hand back {status, data}. A network
   * failure or an answer that is not JSON becomes {status, data: null,
   * failure: sentence}, so no caller can forget to tell the coordinator.
   */
  function request(url, body) {
    var options = {
      credentials: 'same-origin',
      headers: { Accept: 'application/json', 'X-CSRFToken': page.dataset.csrfToken }
    };
    if (body !== undefined) {
      options.method = 'POST';
      options.headers['Content-Type'] = 'application/json';
      options.body = JSON.stringify(body);
    }
    return fetch(url, options).then(readJson, function () {
      return { status: 0, data: null, failure: words('textNetwork') };
    });
  }

  function readJson(response) {
    return response.json().then(
      function (data) {
        return { status: response.status, data: data };
      },
      function () {
        return {
          status: response.status,
          data: null,
          failure: words('textUnexpected', { status: response.status })
        };
      }
    );
  }

  /* What the server said went wrong, or the plain sentence for a failure. */
  function failureText(answer) {
    if (answer.failure) {
      return answer.failure;
    }
    if (answer.data && answer.data.message) {
      return answer.data.message;
    }
    return words('textUnexpected', { status: answer.status });
  }

  function load() {
    say(words('textLoading'));
    request(page.dataset.urlSource)
      .then(function (answer) {
        if (answer.status !== 200 || !answer.data) {
          throw new Error(failureText(answer));
        }
        return open(answer.data);
      })
      .catch(function (error) {
        say(words('textLoadFailed', { reason: error.message || String(error) }));
      });
  }

  function open(source) {
    state.choices = source.choices || state.choices;
    state.forms = source.forms || {};
    state.base = { version: source.version, draft_saved_at: source.draft_saved_at };
    return modeler.importXML(source.xml).then(function (result) {
      canvas.zoom('fit-viewport');
      $('modeler-origin').textContent = originText(source);
      panel.fillTimerHelpers();
      var warnings = result.warnings || [];
      problemLists.showProblems(
        [],
        warnings.map(function (warning) {
          return { element: '', file: source.path, line: null, message: warning.message };
        })
      );
      say(warnings.length ? words('textImportWarnings', { count: warnings.length }) : '');
      page.dataset.ready = 'true';
    });
  }

  function originText(source) {
    if (source.origin === 'draft') {
      return words(source.version ? 'textOriginDraft' : 'textOriginNew', {
        when: new Date(source.draft_saved_at).toLocaleString(document.documentElement.lang),
        who: source.draft_saved_by || '',
        version: source.version
      });
    }
    return words('textOriginVersion', { version: source.version });
  }

  /* The diagram as the server gets it, or null after telling why it could not be written. */
  function exported() {
    return modeler.saveXML({ format: true }).then(
      function (result) {
        return { xml: result.xml, forms: state.changedForms, base: state.base };
      },
      function (error) {
        say(words('textExportFailed', { reason: error.message || String(error) }));
        return null;
      }
    );
  }

  /* Run one toolbar action at a time, with the buttons disabled meanwhile. */
  function act(busyText, send) {
    if (state.busy) {
      return;
    }
    state.busy = true;
    setToolbarBusy(true);
    say(busyText);
    exported()
      .then(function (body) {
        return body && send(body);
      })
      .catch(function (error) {
        say(error.message || String(error)); // a fault of this page: still say something
      })
      .then(function () {
        state.busy = false;
        setToolbarBusy(false);
      });
  }

  function setToolbarBusy(busy) {
    ['modeler-validate', 'modeler-save', 'modeler-deploy'].forEach(function (id) {
      $(id).disabled = busy;
    });
    page.setAttribute('aria-busy', busy ? 'true' : 'false');
  }

  function validate() {
    act(words('textValidating'), function (body) {
      return request(page.dataset.urlValidate, body).then(function (answer) {
        if (answer.status !== 200 || !answer.data) {
          say(failureText(answer));
          return;
        }
        reportValidation(answer.data);
      });
    });
  }

  function reportValidation(data) {
    var problems = data.problems || [];
    problemLists.showProblems(problems, data.warnings || []);
    say(
      problems.length
        ? (data.message ? data.message + ' ' : '') +
            words('textInvalid', { count: problems.length })
        : words('textValid')
    );
  }

  function saveDraft() {
    act(words('textSaving'), function (body) {
      return request(page.dataset.urlDraft, body).then(function (answer) {
        if (answer.status === 200 && answer.data) {
          state.dirty = false; // the edited forms are still sent: the deployment needs them
          state.base = answer.data.base || state.base; // this draft is the next save's base
        }
        say(failureText(answer));
      });
    });
  }

  function deploy() {
    act(words('textDeploying'), function (body) {
      return request(page.dataset.urlDeploy, body).then(function (answer) {
        var data = answer.data;
        if ((answer.status === 201 || answer.status === 200) && data && data.redirect) {
          state.dirty = false;
          say(data.message || '');
          window.location.assign(data.redirect);
        } else if (answer.status === 422 && data) {
          reportValidation(data);
        } else {
          say(failureText(answer));
        }
      });
    });
  }


  /* The diagram as a file, kept after a refusal; a blob: link, which the CSP lets download. */
  function download() {
    exported().then(function (body) {
      if (!body) {
        return;
      }
      var link = document.createElement('a');
      link.href = URL.createObjectURL(new Blob([body.xml], { type: 'application/xml' }));
      link.download = page.dataset.fileName;
      document.body.appendChild(link);
      link.click();
      link.remove();
      setTimeout(function () {
        URL.revokeObjectURL(link.href); // long after the browser has read it
      }, DOWNLOAD_URL_LIFETIME_MS);
    });
  }


  // -------------------------------------------------------------------- forms

  function setForm(path, text) {
    state.forms[path] = text;
    state.changedForms[path] = text;
    state.dirty = true;
  }

  $('panel-form-upload').addEventListener('change', function (event) {
    var file = event.target.files && event.target.files[0];
    var element = state.shown;
    event.target.value = '';
    if (!file || !element) {
      return;
    }
    file.text().then(function (text) {
      try {
        JSON.parse(text);
      } catch (error) {
        say(words('textFormNotJson', { file: file.name }));
        return;
      }
      setForm(panel.formPath(file.name) || 'forms/' + file.name, text);
      commands.setFormFile(element, file.name);
      panel.showPanel(state.shown);
      say(words('textFormAdded', { file: file.name }));
    });
  });

  var preview = { timer: null, asked: 0 };

  function refreshPreview() {
    var asked = ++preview.asked;
    request(page.dataset.urlFormPreview, { schema: $('form-editor-schema').value }).then(
      function (answer) {
        if (asked !== preview.asked) {
          return; // a newer edit is on its way
        }
        var problems = $('form-preview-problems');
        problems.textContent = '';
        var data = answer.data;
        var messages = data && answer.status === 200 ? data.problems || [] : [failureText(answer)];
        messages.forEach(function (message) {
          var item = document.createElement('li');
          item.textContent = message;
          problems.appendChild(item);
        });
        // the server renders and escapes the fields: the same markup a task page shows
        $('form-preview').innerHTML = data && answer.status === 200 ? data.html || '' : '';
      }
    );
  }

  $('panel-form-edit').addEventListener('click', function () {
    var name = $('panel-form-file').value;
    var path = panel.formPath(name);
    if (!path) {
      return;
    }
    var editor = $('form-editor');
    editor.dataset.path = path;
    $('form-editor-name').textContent = name;
    $('form-editor-schema').value = state.forms[path];
    $('form-editor-schema').setSelectionRange(0, 0); // open at the top, not the end
    editor.showModal();
    refreshPreview();
  });

  $('form-editor-schema').addEventListener('input', function (event) {
    setForm($('form-editor').dataset.path, event.target.value);
    clearTimeout(preview.timer);
    preview.timer = setTimeout(refreshPreview, PREVIEW_DELAY_MS);
  });

  $('form-editor-close').addEventListener('click', function () {
    $('form-editor').close();
  });

  // ------------------------------------------------------------ wiring it up

  modeler.on('selection.changed', function (event) {
    var active = document.activeElement;
    if (active && $('panel-form').contains(active)) {
      active.blur(); // commits a half-typed value to the element it was typed for
    }
    panel.showPanel(event.newSelection.length === 1 ? event.newSelection[0] : null);
  });

  modeler.on('commandStack.changed', function (event) {
    if (event.trigger !== 'clear') {
      state.dirty = true; // importing a diagram clears the stack: that is no edit
    }
    $('modeler-undo').disabled = !commandStack.canUndo();
    $('modeler-redo').disabled = !commandStack.canRedo();
    var shown = state.shown && registry.get(state.shown.id);
    panel.showPanel(shown || null);
  });

  $('modeler-validate').addEventListener('click', validate);
  $('modeler-save').addEventListener('click', saveDraft);
  $('modeler-deploy').addEventListener('click', deploy);
  $('modeler-download').addEventListener('click', download);
  $('modeler-undo').addEventListener('click', function () {
    commandStack.undo();
  });
  $('modeler-redo').addEventListener('click', function () {
    commandStack.redo();
  });

  window.addEventListener('beforeunload', function (event) {
    if (state.dirty) {
      event.preventDefault();
      event.returnValue = ''; // older browsers need it set to show their own warning
    }
  });

  page.bpmnModeler = modeler; // for the browser tests, which read the XML the page sends
  page.hidden = false;
  $('modeler-undo').disabled = true;
  $('modeler-redo').disabled = true;
  load();
})();
