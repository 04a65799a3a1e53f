import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { appendGraphOutputs, OnnxProtoError, parseOnnxModel } from './onnx-model-proto';

const SHARED = path.resolve(__dirname, '../../../shared/models');
const bytesOf = (name: string) => readFileSync(path.join(SHARED, name, 'model.onnx'));

/** Deterministic pseudo-random bytes (xorshift32), so a failure can be reproduced. */
function randomBytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

describe('parseOnnxModel', () => {
  it('reads model metadata, graph inputs/outputs and the ZipMap node of a scikit-learn classifier', () => {
    const model = parseOnnxModel(bytesOf('skl-logreg-zipmap'));
    expect(model.irVersion).toBe(3);
    expect(model.producerName).toBe('OnnxMLTools');
    expect(model.producerVersion).toBe('1.3.1');
    expect(model.opsets).toEqual([{ domain: 'ai.onnx.ml', version: 1 }]);
    expect(model.graph.inputs).toEqual([
      { name: 'input', type: { kind: 'tensor', elemType: 1, shape: [{ value: 1 }, { value: 3 }] } },
    ]);
    expect(model.graph.outputs.map((o) => o.name)).toEqual(['label', 'probabilities']);
    expect(model.graph.outputs[0].type).toEqual({ kind: 'tensor', elemType: 7, shape: [{ value: 1 }] });
    expect(model.graph.outputs[1].type).toMatchObject({
      kind: 'sequence',
      elem: { kind: 'map', keyType: 7, value: { kind: 'tensor', elemType: 1 } },
    });
    const zipMap = model.graph.nodes.find((n) => n.opType === 'ZipMap')!;
    expect(zipMap.domain).toBe('ai.onnx.ml');
    expect(zipMap.inputs).toEqual(['probability_tensor_normalized']);
    expect(zipMap.outputs).toEqual(['probabilities']);
    expect(zipMap.attributes.find((a) => a.name === 'classlabels_int64s')!.ints).toEqual([0n, 1n, 2n]);
  });

  it('reads string class labels', () => {
    const model = parseOnnxModel(bytesOf('skl-rf-strlabel'));
    const zipMap = model.graph.nodes.find((n) => n.opType === 'ZipMap')!;
    expect(zipMap.attributes.find((a) => a.name === 'classlabels_strings')!.strings).toEqual(['A', 'B']);
  });

  it('reads symbolic dims (dim_param) and dims that carry neither value nor name (skl2onnx)', () => {
    const multi = parseOnnxModel(bytesOf('pt-tiny-multiio'));
    expect(multi.graph.inputs.map((i) => i.type)).toEqual([
      { kind: 'tensor', elemType: 6, shape: [{ param: 'batch_size' }, { value: 100 }] },
      { kind: 'tensor', elemType: 1, shape: [{ param: 'batch_size' }, { value: 100 }] },
    ]);
    const sgd = parseOnnxModel(bytesOf('skl-sgd-dynbatch'));
    expect(sgd.graph.inputs[0].type).toEqual({ kind: 'tensor', elemType: 1, shape: [{}, { value: 20 }] });
  });

  it('leaves initializers out of the graph inputs', () => {
    const model = parseOnnxModel(bytesOf('pt-conv2d'));
    expect(model.graph.initializerNames.length).toBeGreaterThan(0);
    expect(model.graph.inputs.map((i) => i.name)).toEqual(['0']);
  });

  it('skips large initializer payloads and still finds the graph (4 MB Keras model)', () => {
    const model = parseOnnxModel(bytesOf('tf-keras-genre14'));
    expect(model.producerName).toBe('keras2onnx');
    expect(model.graph.inputs[0]).toEqual({
      name: 'flatten_input',
      type: { kind: 'tensor', elemType: 1, shape: [{ param: 'N' }, { value: 130 }, { value: 13 }] },
    });
  });

  it('refuses empty, truncated and random bytes with a clear error', () => {
    expect(() => parseOnnxModel(new Uint8Array())).toThrow(new OnnxProtoError('the file is empty'));
    const full = bytesOf('skl-linreg');
    for (const cut of [1, 10, Math.floor(full.length / 2), full.length - 1]) {
      expect(() => parseOnnxModel(full.subarray(0, cut))).toThrow(OnnxProtoError);
    }
    for (let seed = 1; seed <= 200; seed++) {
      expect(() => parseOnnxModel(randomBytes(64 + seed, seed))).toThrow(OnnxProtoError);
    }
    expect(() => parseOnnxModel(Buffer.from('{"not": "onnx"}'))).toThrow(OnnxProtoError);
  });
});

describe('appendGraphOutputs', () => {
  it('adds a float tensor output after the existing ones and keeps everything else', () => {
    const original = bytesOf('skl-logreg-zipmap');
    const modified = appendGraphOutputs(original, [{ name: 'probability_tensor_normalized', elemType: 1 }]);
    const before = parseOnnxModel(original);
    const after = parseOnnxModel(modified);
    expect(after.graph.outputs.map((o) => o.name)).toEqual([
      'label',
      'probabilities',
      'probability_tensor_normalized',
    ]);
    expect(after.graph.outputs[2].type).toEqual({ kind: 'tensor', elemType: 1, shape: null });
    expect({ ...after, graph: { ...after.graph, outputs: before.graph.outputs } }).toEqual(before);
  });

  it('returns the same bytes when there is nothing to add', () => {
    const original = bytesOf('skl-linreg');
    expect(appendGraphOutputs(original, [])).toBe(original);
  });
});
