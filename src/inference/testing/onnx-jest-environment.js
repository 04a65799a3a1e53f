'use strict';
// Jest runs each spec in its own vm realm, so a Float32Array made there is not `instanceof` the Float32Array
// that onnxruntime-node's native binding uses for outputs ("A float32 tensor's data must be type of function
// Float32Array()"). This environment hands the spec realm the host realm's typed-array constructors, so
// tensors built by specs and by the binding share one set. Use it with a `@jest-environment` docblock or as
// a project's `testEnvironment` (any suite that runs real inference, e2e included).
const { TestEnvironment } = require('jest-environment-node');

const SHARED = [
  'ArrayBuffer',
  'SharedArrayBuffer',
  'DataView',
  'Int8Array',
  'Uint8Array',
  'Uint8ClampedArray',
  'Int16Array',
  'Uint16Array',
  'Int32Array',
  'Uint32Array',
  'Float32Array',
  'Float64Array',
  'BigInt64Array',
  'BigUint64Array',
];

class OnnxJestEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of SHARED) {
      if (typeof globalThis[name] === 'function') this.global[name] = globalThis[name];
    }
  }
}

module.exports = OnnxJestEnvironment;
