/*
 * The modeler's side panel: the fields the selected element has (name or
 * lane role, documentation, form, condition, timer, called process or
 * decision), filled from the diagram and the server's choices, and each
 * change written back through the modeler's commands so Ctrl+Z undoes it.
 *
 * `window.NrmflowModelerPanel(modeler, commands, state, helpers)` takes the
 * bpmn-js modeler, what NrmflowModelerCommands made for it, the page's state
 * (choices, forms, the element shown) and its $, words and say; it wires the
 * panel's controls and returns what the page calls: showPanel, formPath and
 * fillTimerHelpers.
 */
(function () {
  'use strict';

  function is(element, type) {
    var bo = element && (element.businessObject || element);
    return !!bo && typeof bo.$instanceOf === 'function' && bo.$instanceOf(type);
  }

  window.NrmflowModelerPanel = function (modeler, commands, state, helpers) {
    var modeling = modeler.get('modeling');
    var $ = helpers.$;
    var words = helpers.words;
    var say = helpers.say;

    /* Which panel fields an element has. */
    function fieldsFor(element) {
      var bo = element.businessObject;
      var source = bo.sourceRef;
      var isLane = is(element, 'bpmn:Lane');
      return {
        name: !isLane,
        role: isLane,
        documentation: true,
        form: is(element, 'bpmn:UserTask') || is(element, 'bpmn:StartEvent'),
        condition:
          is(element, 'bpmn:SequenceFlow') &&
          !!source &&
          (is(source, 'bpmn:ExclusiveGateway') || is(source, 'bpmn:InclusiveGateway')),
        timer: is(element, 'bpmn:Event') && !!commands.timerDefinition(element),
        'called-process': is(element, 'bpmn:CallActivity'),
        decision: is(element, 'bpmn:BusinessRuleTask')
      };
    }

    /* Options for a <select>: the known choices, plus the current value if it is not one. */
    function fillSelect(select, choices, current, withNone) {
      select.textContent = '';
      var known = false;
      if (withNone) {
        addOption(select, '', words('textNoChoice'));
      }
      choices.forEach(function (choice) {
        addOption(select, choice.value, choice.label);
        known = known || choice.value === current;
      });
      if (current && !known) {
        addOption(select, current, words('textUnknownChoice', { value: current }));
      }
      select.value = current || '';
    }

    function addOption(select, value, label) {
      var option = document.createElement('option');
      option.value = value;
      option.textContent = label;
      select.appendChild(option);
    }

    function named(entries) {
      return entries.map(function (entry) {
        return {
          value: entry.id,
          label: entry.name ? entry.name + ' (' + entry.id + ')' : entry.id
        };
      });
    }

    function formNames() {
      return Object.keys(state.forms)
        .map(function (path) {
          return path.split('/').pop();
        })
        .sort()
        .map(function (name) {
          return { value: name, label: name };
        });
    }

    function formPath(name) {
      return Object.keys(state.forms).filter(function (path) {
        return path.split('/').pop() === name;
      })[0];
    }

    function showPanel(selected) {
      var element = selected ? selected.labelTarget || selected : null; // a label edits its owner
      state.shown = element;
      $('panel-nothing').hidden = !!element;
      $('panel-form').hidden = !element;
      if (!element) {
        return;
      }
      var bo = element.businessObject;
      var fields = fieldsFor(element);
      document.querySelectorAll('#panel-form [data-field]').forEach(function (field) {
        field.hidden = !fields[field.dataset.field];
      });
      $('panel-id').textContent = bo.id;
      $('panel-name').value = (is(element, 'bpmn:TextAnnotation') ? bo.text : bo.name) || '';
      var documentation = bo.get('documentation')[0];
      $('panel-documentation').value = (documentation && documentation.text) || '';
      $('panel-documentation-label').textContent = words(
        is(element, 'bpmn:UserTask') ? 'textInstructions' : 'textDocumentation'
      );
      if (fields.role) {
        var roles = state.choices.roles.map(function (role) {
          return { value: role, label: role };
        });
        fillSelect($('panel-role'), roles, bo.name || '', !bo.name);
      }
      if (fields.form) {
        var form = commands.formFileOf(bo).value;
        fillSelect($('panel-form-file'), formNames(), form, true);
        $('panel-form-edit').disabled = !formPath(form);
      }
      if (fields.condition) {
        $('panel-condition').value = (bo.conditionExpression && bo.conditionExpression.body) || '';
      }
      if (fields.timer) {
        var timer = commands.timerOf(commands.timerDefinition(element));
        $('panel-timer-kind').value = timer.kind;
        $('panel-timer-expression').value = timer.text;
      }
      if (fields['called-process']) {
        fillSelect($('panel-called-process'), named(state.choices.processes),
          bo.calledElement || '', true);
      }
      if (fields.decision) {
        var decision = commands.findExtension(bo, 'spiffworkflow:CalledDecisionId');
        fillSelect($('panel-decision'), named(state.choices.decisions),
          (decision && decision.value) || '', true);
      }
    }

    function fillTimerHelpers() {
      var list = $('panel-timer-helpers');
      list.textContent = '';
      state.choices.timer_helpers.forEach(function (helper) {
        var term = document.createElement('dt');
        var code = document.createElement('code');
        code.textContent = helper.example || helper.name;
        term.appendChild(code);
        var description = document.createElement('dd');
        description.textContent = helper.description || '';
        list.appendChild(term);
        list.appendChild(description);
      });
    }

    /* Apply a panel control's value to the element it was showing. */
    function onChange(id, apply) {
      $(id).addEventListener('change', function (event) {
        if (state.shown) {
          apply(state.shown, event.target.value);
        }
      });
    }

    onChange('panel-name', function (element, value) {
      modeling.updateLabel(element, value.trim());
    });
    onChange('panel-role', function (element, value) {
      modeling.updateLabel(element, value);
    });
    onChange('panel-documentation', function (element, value) {
      commands.setDocumentation(element, value.trim() ? value : '');
    });
    onChange('panel-form-file', function (element, value) {
      commands.setFormFile(element, value);
    });
    onChange('panel-condition', function (element, value) {
      commands.setCondition(element, value.trim());
    });
    onChange('panel-timer-kind', function (element, value) {
      commands.setTimer(element, value, $('panel-timer-expression').value.trim());
    });
    onChange('panel-timer-expression', function (element, value) {
      commands.setTimer(element, $('panel-timer-kind').value, value.trim());
    });
    onChange('panel-called-process', function (element, value) {
      modeling.updateProperties(element, { calledElement: value || undefined });
    });
    onChange('panel-decision', commands.setCalledDecision);

    /* The number in the days box, or null after saying it is not a whole number of days. */
    function days() {
      var text = $('panel-timer-days').value.trim();
      if (!/^[0-9]+$/.test(text) || Number(text) < 1) {
        say(words('textDaysInvalid'));
        return null;
      }
      return Number(text);
    }

    $('panel-timer-business-days').addEventListener('click', function () {
      var count = days();
      if (state.shown && count) {
        commands.setTimer(state.shown, 'date', 'business_days_from_now(' + count + ')');
      }
    });
    $('panel-timer-calendar-days').addEventListener('click', function () {
      var count = days();
      if (state.shown && count) {
        // timer expressions are Python: an unquoted P5D would be a name, not a duration
        commands.setTimer(state.shown, 'duration', '"P' + count + 'D"');
      }
    });

    $('panel-form').addEventListener('submit', function (event) {
      event.preventDefault(); // Enter in a field commits it (change event), nothing more
    });

    return { showPanel: showPanel, formPath: formPath, fillTimerHelpers: fillTimerHelpers };
  };
})();
