import type { EnvironmentContext, JestEnvironmentConfig } from '@jest/environment';
import { TestEnvironment } from 'jest-environment-node';

/**
 * Jest runs each spec in its own vm realm, so a Float32Array made there is not `instanceof` the Float32Array
 * that onnxruntime-node's native binding uses for outputs ("A float32 tensor's data must be type of function
 * Float32Array()"). This environment hands the spec realm the host realm's typed-array constructors, so
 * tensors built by specs and by the binding share one set. Use it in any suite that runs real inference
 * (e2e included): a `@jest-environment ./src/inference/testing/onnx-jest-environment.ts` docblock, or a
 * project's `testEnvironment`.
 */
const SHARED_GLOBALS = [
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
] as const;

class OnnxJestEnvironment extends TestEnvironment {
  constructor(config: JestEnvironmentConfig, context: EnvironmentContext) {
    super(config, context);
    const host = globalThis as unknown as Record<string, unknown>;
    const sandbox = this.global as unknown as Record<string, unknown>;
    for (const name of SHARED_GLOBALS) {
      if (typeof host[name] === 'function') sandbox[name] = host[name];
    }
  }
}

export = OnnxJestEnvironment;
