/*
 * The spiffworkflow extension elements as bpmn-js's moddle must know them.
 *
 * Once a namespace is registered, moddle refuses (and silently drops, with an
 * import warning) every element of it that the descriptor does not name, so
 * this lists everything SpiffWorkflow 3.2's spiff parser reads
 * (SpiffWorkflow/spiff/parser/task_spec.py and event_parsers.py) plus the
 * few elements SpiffArena's editor writes; a diagram from either comes back
 * out of the modeler whole. Elements of namespaces not registered here (other
 * tools' extensions) need no descriptor: moddle keeps them as generic elements.
 *
 * `tagAlias: lowerCase` maps type `Properties` to the tag
 * `spiffworkflow:properties`. Elements whose text the parser reads
 * (`extensions[name] = node.text`) have a body property.
 */
(function () {
  'use strict';

  /* An element whose whole content is its text, e.g. <spiffworkflow:preScript>. */
  function textElement(name) {
    return {
      name: name,
      superClass: ['Element'],
      properties: [{ name: 'value', isBody: true, type: 'String' }]
    };
  }

  /* Kept as text even where the value is a flag: moddle would rewrite `True` as `false`. */
  function attribute(name) {
    return { name: name, isAttr: true, type: 'String' };
  }

  /* An element holding a list of elements of one type, e.g. properties > property. */
  function listElement(name, propertyName, itemType) {
    return {
      name: name,
      superClass: ['Element'],
      properties: [{ name: propertyName, type: itemType, isMany: true }]
    };
  }

  window.NRMFLOW_SPIFF_MODDLE = {
    name: 'SpiffWorkflow',
    uri: 'http://spiffworkflow.org/bpmn/schema/1.0/core',
    prefix: 'spiffworkflow',
    xml: { tagAlias: 'lowerCase' },
    associations: [],
    types: [
      // task extensions the parser reads as text
      textElement('PreScript'),
      textElement('PostScript'),
      textElement('CalledDecisionId'),
      textElement('InstructionsForEndUser'),
      textElement('VariableName'),
      // message, signal, error and escalation payloads
      textElement('MessagePayload'),
      textElement('MessageVariable'),
      textElement('PayloadExpression'),
      {
        name: 'ProcessVariableCorrelation',
        superClass: ['Element'],
        properties: [
          { name: 'propertyId', type: 'String' },
          { name: 'expression', type: 'String' }
        ]
      },
      // properties: the user task's form file, among others
      listElement('Properties', 'properties', 'Property'),
      {
        name: 'Property',
        superClass: ['Element'],
        properties: [attribute('name'), attribute('value')]
      },
      // service tasks
      {
        name: 'ServiceTaskOperator',
        superClass: ['Element'],
        properties: [
          attribute('id'),
          attribute('resultVariable'),
          { name: 'parameters', type: 'Parameters' },
          { name: 'retry', type: 'Retry' }
        ]
      },
      listElement('Parameters', 'parameters', 'Parameter'),
      {
        name: 'Parameter',
        superClass: ['Element'],
        properties: [attribute('id'), attribute('type'), attribute('value')]
      },
      {
        name: 'Retry',
        superClass: ['Element'],
        properties: [attribute('retries'), attribute('backoff_base')]
      },
      // script unit tests
      listElement('UnitTests', 'unitTests', 'UnitTest'),
      {
        name: 'UnitTest',
        superClass: ['Element'],
        properties: [
          attribute('id'),
          { name: 'inputJson', type: 'InputJson' },
          { name: 'expectedOutputJson', type: 'ExpectedOutputJson' }
        ]
      },
      textElement('InputJson'),
      textElement('ExpectedOutputJson'),
      // task metadata
      listElement('TaskMetadataValues', 'values', 'TaskMetadataValue'),
      {
        name: 'TaskMetadataValue',
        superClass: ['Element'],
        properties: [attribute('name'), attribute('value')]
      },
      // SpiffArena's editor writes these; the parser hands them on as text
      textElement('AllowGuest'),
      textElement('GuestConfirmation'),
      textElement('Category'),
      textElement('SignalButtonLabel'),
      // an attribute on loop characteristics: run pre/post scripts on each instance
      {
        name: 'ScriptsOnInstances',
        extends: ['bpmn:MultiInstanceLoopCharacteristics', 'bpmn:StandardLoopCharacteristics'],
        properties: [attribute('scriptsOnInstances')]
      }
    ]
  };
})();
