/*
 * The modeler's edits of the diagram's moddle tree: documentation, conditions,
 * timers, form files and called decisions, as commands on bpmn-js's command
 * stack so Ctrl+Z undoes a panel edit like a move on the canvas.
 *
 * `window.NrmflowModelerCommands(modeler)` registers `nrm.multi-command` on
 * that modeler (several updates as one undoable step) and returns the setters
 * and readers the side panel uses; every service comes from the modeler given.
 */
(function () {
  'use strict';

  var FORM_PROPERTY = 'formJsonSchemaFilename';
  var TIMER_PROPERTIES = { date: 'timeDate', duration: 'timeDuration', cycle: 'timeCycle' };

  window.NrmflowModelerCommands = function (modeler) {
    var modeling = modeler.get('modeling');
    var commandStack = modeler.get('commandStack');
    var bpmnFactory = modeler.get('bpmnFactory');
    var moddle = modeler.get('moddle');

    /* Several updates as one step on the command stack: one Ctrl+Z undoes them all. */
    function MultiCommand(stack) {
      this.preExecute = function (commands) {
        commands.forEach(function (command) {
          stack.execute(command.cmd, command.context);
        });
      };
    }
    MultiCommand.$inject = ['commandStack'];
    commandStack.registerHandler('nrm.multi-command', MultiCommand);

    function update(element, target, properties) {
      return {
        cmd: 'element.updateModdleProperties',
        context: { element: element, moddleElement: target, properties: properties }
      };
    }

    function run(commands) {
      if (commands.length) {
        commandStack.execute('nrm.multi-command', commands);
      }
    }

    function extensionValues(bo) {
      return (bo.extensionElements && bo.extensionElements.get('values')) || [];
    }

    function findExtension(bo, type) {
      return extensionValues(bo).filter(function (value) {
        return value.$instanceOf(type);
      })[0];
    }

    /* Commands that add `extension` to the element's extensionElements, creating them if needed. */
    function addExtension(element, commands, extension) {
      var bo = element.businessObject;
      var container = bo.extensionElements;
      if (!container) {
        container = bpmnFactory.create('bpmn:ExtensionElements', { values: [] });
        container.$parent = bo;
        commands.push(update(element, bo, { extensionElements: container }));
      }
      extension.$parent = container;
      commands.push(
        update(element, container, { values: extensionValues(bo).concat([extension]) })
      );
    }

    /* Commands that remove `extension`, and the extensionElements with it when nothing is left. */
    function removeExtension(element, commands, extension) {
      var bo = element.businessObject;
      var rest = extensionValues(bo).filter(function (value) {
        return value !== extension;
      });
      commands.push(
        rest.length
          ? update(element, bo.extensionElements, { values: rest })
          : update(element, bo, { extensionElements: undefined })
      );
    }

    function formFileOf(bo) {
      var properties = findExtension(bo, 'spiffworkflow:Properties');
      var property = properties && properties.get('properties').filter(function (entry) {
        return entry.name === FORM_PROPERTY;
      })[0];
      return { properties: properties, property: property, value: property ? property.value : '' };
    }

    function setFormFile(element, name) {
      var form = formFileOf(element.businessObject);
      var commands = [];
      if (form.property && name) {
        commands.push(update(element, form.property, { value: name }));
      } else if (form.property) {
        var others = form.properties.get('properties').filter(function (entry) {
          return entry !== form.property;
        });
        if (others.length) {
          commands.push(update(element, form.properties, { properties: others }));
        } else {
          removeExtension(element, commands, form.properties);
        }
      } else if (name && form.properties) {
        var added = moddle.create('spiffworkflow:Property', { name: FORM_PROPERTY, value: name });
        added.$parent = form.properties;
        commands.push(
          update(element, form.properties, {
            properties: form.properties.get('properties').concat([added])
          })
        );
      } else if (name) {
        var properties = moddle.create('spiffworkflow:Properties', { properties: [] });
        var property = moddle.create('spiffworkflow:Property', {
          name: FORM_PROPERTY,
          value: name
        });
        property.$parent = properties;
        properties.get('properties').push(property);
        addExtension(element, commands, properties);
      }
      run(commands);
    }

    function setCalledDecision(element, decisionId) {
      var current = findExtension(element.businessObject, 'spiffworkflow:CalledDecisionId');
      var commands = [];
      if (current && decisionId) {
        commands.push(update(element, current, { value: decisionId }));
      } else if (current) {
        removeExtension(element, commands, current);
      } else if (decisionId) {
        var called = moddle.create('spiffworkflow:CalledDecisionId', { value: decisionId });
        addExtension(element, commands, called);
      }
      run(commands);
    }

    function setDocumentation(element, text) {
      var bo = element.businessObject;
      var all = bo.get('documentation');
      var first = all[0];
      if (first && text) {
        modeling.updateModdleProperties(element, first, { text: text });
      } else if (first) {
        modeling.updateModdleProperties(element, bo, { documentation: all.slice(1) });
      } else if (text) {
        var documentation = bpmnFactory.create('bpmn:Documentation', { text: text });
        documentation.$parent = bo;
        modeling.updateModdleProperties(element, bo, { documentation: [documentation] });
      }
    }

    function setCondition(element, text) {
      var expression = element.businessObject.conditionExpression;
      if (expression && text) {
        modeling.updateModdleProperties(element, expression, { body: text });
      } else if (text) {
        expression = bpmnFactory.create('bpmn:FormalExpression', { body: text });
        expression.$parent = element.businessObject;
        modeling.updateProperties(element, { conditionExpression: expression });
      } else if (expression) {
        modeling.updateProperties(element, { conditionExpression: undefined });
      }
    }

    function timerDefinition(element) {
      return (element.businessObject.get('eventDefinitions') || []).filter(function (definition) {
        return definition.$instanceOf('bpmn:TimerEventDefinition');
      })[0];
    }

    /* The timer's kind and expression; a timer without one counts as a date. */
    function timerOf(definition) {
      var kinds = Object.keys(TIMER_PROPERTIES);
      for (var i = 0; i < kinds.length; i++) {
        var expression = definition.get(TIMER_PROPERTIES[kinds[i]]);
        if (expression) {
          return { kind: kinds[i], expression: expression, text: expression.body || '' };
        }
      }
      return { kind: 'date', expression: null, text: '' };
    }

    /*
     * Write the timer as one step. A new expression keeps the class of the old
     * one (a plain bpmn:Expression in the NRM library, no xsi:type added).
     */
    function setTimer(element, kind, text) {
      var definition = timerDefinition(element);
      var current = timerOf(definition);
      if (current.expression && current.kind === kind && text) {
        modeling.updateModdleProperties(element, current.expression, { body: text });
        return;
      }
      var properties = { timeDate: undefined, timeDuration: undefined, timeCycle: undefined };
      if (text) {
        var type = current.expression ? current.expression.$type : 'bpmn:FormalExpression';
        var expression = bpmnFactory.create(type, { body: text });
        expression.$parent = definition;
        properties[TIMER_PROPERTIES[kind]] = expression;
      }
      modeling.updateModdleProperties(element, definition, properties);
    }

    return {
      findExtension: findExtension,
      formFileOf: formFileOf,
      setFormFile: setFormFile,
      setCalledDecision: setCalledDecision,
      setDocumentation: setDocumentation,
      setCondition: setCondition,
      timerDefinition: timerDefinition,
      timerOf: timerOf,
      setTimer: setTimer
    };
  };
})();
