/**
 * A small reader and writer for the parts of the ONNX ModelProto (onnx/onnx.proto3) this service needs.
 * Hand-written so that inspecting an upload needs no protobuf dependency; large payloads (initializer data)
 * are skipped by length, never copied.
 */

/** TensorProto.DataType numbers, as in onnx.proto. */
export const ONNX_DATA_TYPES: Record<number, string> = {
  1: 'float32',
  2: 'uint8',
  3: 'int8',
  4: 'uint16',
  5: 'int16',
  6: 'int32',
  7: 'int64',
  8: 'string',
  9: 'bool',
  10: 'float16',
  11: 'float64',
  12: 'uint32',
  13: 'uint64',
  14: 'complex64',
  15: 'complex128',
  16: 'bfloat16',
};

export const ONNX_FLOAT = 1;

export class OnnxProtoError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OnnxProtoError';
  }
}

export interface OnnxDim {
  value?: number;
  param?: string;
}

/** A TypeProto, reduced to what the codec and schemas need. */
export type OnnxType =
  | { kind: 'tensor'; elemType: number; shape: OnnxDim[] | null }
  | { kind: 'sequence'; elem: OnnxType | null }
  | { kind: 'map'; keyType: number; value: OnnxType | null }
  | { kind: 'other' };

export interface OnnxValueInfo {
  name: string;
  type: OnnxType | null;
}

export interface OnnxAttribute {
  name: string;
  f?: number;
  i?: bigint;
  s?: string;
  floats: number[];
  ints: bigint[];
  strings: string[];
}

export interface OnnxNode {
  name: string;
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  attributes: OnnxAttribute[];
}

export interface OnnxGraph {
  name: string;
  nodes: OnnxNode[];
  /** Graph inputs that are not initializers, i.e. what a caller must feed. */
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  initializerNames: string[];
}

export interface OnnxModel {
  irVersion: number;
  producerName: string;
  producerVersion: string;
  domain: string;
  modelVersion: number;
  docString: string;
  opsets: Array<{ domain: string; version: number }>;
  metadataProps: Record<string, string>;
  graph: OnnxGraph;
}

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LEN = 2;
const WIRE_FIXED32 = 5;

const utf8 = new TextDecoder('utf-8');

/** Cursor over one protobuf message; every read checks bounds so truncated input fails loudly. */
class ProtoReader {
  constructor(
    private readonly buf: Uint8Array,
    private pos: number,
    private readonly end: number,
  ) {}

  static of(buf: Uint8Array): ProtoReader {
    return new ProtoReader(buf, 0, buf.length);
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  tag(): { field: number; wire: number } {
    const key = this.uint();
    const field = Math.floor(key / 8);
    const wire = key % 8;
    if (field === 0) throw new OnnxProtoError(`field number 0 at byte ${this.pos}`);
    if (wire !== WIRE_VARINT && wire !== WIRE_FIXED64 && wire !== WIRE_LEN && wire !== WIRE_FIXED32) {
      throw new OnnxProtoError(`unsupported wire type ${wire} at byte ${this.pos}`);
    }
    return { field, wire };
  }

  /** A full 64-bit varint, two's complement (int64 fields encode negatives in 10 bytes). */
  varint(): bigint {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (this.pos >= this.end) throw new OnnxProtoError('truncated varint');
      const byte = this.buf[this.pos++];
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return BigInt.asIntN(64, result);
    }
    throw new OnnxProtoError('varint longer than 10 bytes');
  }

  /** A varint used as a length, count or enum: must fit a safe non-negative number. */
  uint(): number {
    let result = 0;
    let factor = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new OnnxProtoError('truncated varint');
      const byte = this.buf[this.pos++];
      result += (byte & 0x7f) * factor;
      if ((byte & 0x80) === 0) {
        if (!Number.isSafeInteger(result)) throw new OnnxProtoError('varint out of range');
        return result;
      }
      factor *= 128;
    }
    throw new OnnxProtoError('varint longer than 10 bytes');
  }

  int(): number {
    return Number(this.varint());
  }

  float(): number {
    this.need(4);
    const value = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 4).getFloat32(0, true);
    this.pos += 4;
    return value;
  }

  bytes(): Uint8Array {
    const length = this.uint();
    this.need(length);
    const out = this.buf.subarray(this.pos, this.pos + length);
    this.pos += length;
    return out;
  }

  string(): string {
    return utf8.decode(this.bytes());
  }

  /** The embedded message of a length-delimited field. */
  message(): ProtoReader {
    const length = this.uint();
    this.need(length);
    const sub = new ProtoReader(this.buf, this.pos, this.pos + length);
    this.pos += length;
    return sub;
  }

  skip(wire: number): void {
    switch (wire) {
      case WIRE_VARINT:
        this.uint0();
        return;
      case WIRE_FIXED64:
        this.need(8);
        this.pos += 8;
        return;
      case WIRE_LEN: {
        const length = this.uint();
        this.need(length);
        this.pos += length;
        return;
      }
      case WIRE_FIXED32:
        this.need(4);
        this.pos += 4;
        return;
    }
  }

  get offset(): number {
    return this.pos;
  }

  private uint0(): void {
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new OnnxProtoError('truncated varint');
      if ((this.buf[this.pos++] & 0x80) === 0) return;
    }
    throw new OnnxProtoError('varint longer than 10 bytes');
  }

  private need(length: number): void {
    if (this.pos + length > this.end) {
      throw new OnnxProtoError(
        `truncated: field needs ${length} bytes at byte ${this.pos}, message ends at ${this.end}`,
      );
    }
  }
}

function expectWire(actual: number, expected: number, what: string): void {
  if (actual !== expected) throw new OnnxProtoError(`${what} has wire type ${actual}, expected ${expected}`);
}

/** Iterates the fields of one message; the callback reads the value or returns false to have it skipped. */
function eachField(reader: ProtoReader, visit: (field: number, wire: number) => boolean): void {
  while (!reader.done) {
    const { field, wire } = reader.tag();
    if (!visit(field, wire)) reader.skip(wire);
  }
}

function readDim(r: ProtoReader): OnnxDim {
  const dim: OnnxDim = {};
  eachField(r, (field, wire) => {
    if (field === 1 && wire === WIRE_VARINT) dim.value = r.int();
    else if (field === 2 && wire === WIRE_LEN) dim.param = r.string();
    else return false;
    return true;
  });
  return dim;
}

function readShape(r: ProtoReader): OnnxDim[] {
  const dims: OnnxDim[] = [];
  eachField(r, (field, wire) => {
    if (field !== 1) return false;
    expectWire(wire, WIRE_LEN, 'TensorShapeProto.dim');
    dims.push(readDim(r.message()));
    return true;
  });
  return dims;
}

function readTensorType(r: ProtoReader): OnnxType {
  let elemType = 0;
  let shape: OnnxDim[] | null = null;
  eachField(r, (field, wire) => {
    if (field === 1 && wire === WIRE_VARINT) elemType = r.int();
    else if (field === 2 && wire === WIRE_LEN) shape = readShape(r.message());
    else return false;
    return true;
  });
  return { kind: 'tensor', elemType, shape };
}

function readType(r: ProtoReader): OnnxType {
  let type: OnnxType = { kind: 'other' };
  eachField(r, (field, wire) => {
    if (wire !== WIRE_LEN) return false;
    if (field === 1) type = readTensorType(r.message());
    else if (field === 4) type = { kind: 'sequence', elem: readSequenceElem(r.message()) };
    else if (field === 5) type = readMapType(r.message());
    else return false;
    return true;
  });
  return type;
}

/** Sequence.elem_type (field 1) is a nested TypeProto. */
function readSequenceElem(r: ProtoReader): OnnxType | null {
  let elem: OnnxType | null = null;
  eachField(r, (field, wire) => {
    if (field !== 1 || wire !== WIRE_LEN) return false;
    elem = readType(r.message());
    return true;
  });
  return elem;
}

function readMapType(r: ProtoReader): OnnxType {
  let keyType = 0;
  let value: OnnxType | null = null;
  eachField(r, (field, wire) => {
    if (field === 1 && wire === WIRE_VARINT) keyType = r.int();
    else if (field === 2 && wire === WIRE_LEN) value = readType(r.message());
    else return false;
    return true;
  });
  return { kind: 'map', keyType, value };
}

function readValueInfo(r: ProtoReader): OnnxValueInfo {
  const info: OnnxValueInfo = { name: '', type: null };
  eachField(r, (field, wire) => {
    if (field === 1 && wire === WIRE_LEN) info.name = r.string();
    else if (field === 2 && wire === WIRE_LEN) info.type = readType(r.message());
    else return false;
    return true;
  });
  return info;
}

function readAttribute(r: ProtoReader): OnnxAttribute {
  const attr: OnnxAttribute = { name: '', floats: [], ints: [], strings: [] };
  eachField(r, (field, wire) => {
    switch (field) {
      case 1:
        expectWire(wire, WIRE_LEN, 'AttributeProto.name');
        attr.name = r.string();
        return true;
      case 2:
        expectWire(wire, WIRE_FIXED32, 'AttributeProto.f');
        attr.f = r.float();
        return true;
      case 3:
        expectWire(wire, WIRE_VARINT, 'AttributeProto.i');
        attr.i = r.varint();
        return true;
      case 4:
        expectWire(wire, WIRE_LEN, 'AttributeProto.s');
        attr.s = r.string();
        return true;
      case 7: // floats: packed (proto3 default) or one per field
        if (wire === WIRE_LEN) {
          const packed = r.message();
          while (!packed.done) attr.floats.push(packed.float());
        } else {
          expectWire(wire, WIRE_FIXED32, 'AttributeProto.floats');
          attr.floats.push(r.float());
        }
        return true;
      case 8: // ints: packed or one per field
        if (wire === WIRE_LEN) {
          const packed = r.message();
          while (!packed.done) attr.ints.push(packed.varint());
        } else {
          expectWire(wire, WIRE_VARINT, 'AttributeProto.ints');
          attr.ints.push(r.varint());
        }
        return true;
      case 9:
        expectWire(wire, WIRE_LEN, 'AttributeProto.strings');
        attr.strings.push(r.string());
        return true;
      default:
        return false;
    }
  });
  return attr;
}

function readNode(r: ProtoReader): OnnxNode {
  const node: OnnxNode = { name: '', opType: '', domain: '', inputs: [], outputs: [], attributes: [] };
  eachField(r, (field, wire) => {
    if (wire !== WIRE_LEN) return false;
    if (field === 1) node.inputs.push(r.string());
    else if (field === 2) node.outputs.push(r.string());
    else if (field === 3) node.name = r.string();
    else if (field === 4) node.opType = r.string();
    else if (field === 7) node.domain = r.string();
    else if (field === 5) node.attributes.push(readAttribute(r.message()));
    else return false;
    return true;
  });
  return node;
}

/** TensorProto.name is field 8; everything else in an initializer (its data) is skipped. */
function readTensorName(r: ProtoReader): string {
  let name = '';
  eachField(r, (field, wire) => {
    if (field !== 8 || wire !== WIRE_LEN) return false;
    name = r.string();
    return true;
  });
  return name;
}

/** SparseTensorProto.values (field 1) is a TensorProto carrying the name. */
function readSparseTensorName(r: ProtoReader): string {
  let name = '';
  eachField(r, (field, wire) => {
    if (field !== 1 || wire !== WIRE_LEN) return false;
    name = readTensorName(r.message());
    return true;
  });
  return name;
}

function readGraph(r: ProtoReader): OnnxGraph {
  const graph: OnnxGraph = { name: '', nodes: [], inputs: [], outputs: [], initializerNames: [] };
  eachField(r, (field, wire) => {
    if (wire !== WIRE_LEN) return false;
    if (field === 1) graph.nodes.push(readNode(r.message()));
    else if (field === 2) graph.name = r.string();
    else if (field === 5) graph.initializerNames.push(readTensorName(r.message()));
    else if (field === 15) graph.initializerNames.push(readSparseTensorName(r.message()));
    else if (field === 11) graph.inputs.push(readValueInfo(r.message()));
    else if (field === 12) graph.outputs.push(readValueInfo(r.message()));
    else return false;
    return true;
  });
  // Before IR version 4 initializers had to be listed as graph inputs too; they are weights, not inputs.
  const initializers = new Set(graph.initializerNames);
  graph.inputs = graph.inputs.filter((input) => !initializers.has(input.name));
  return graph;
}

function readOpset(r: ProtoReader): { domain: string; version: number } {
  const opset = { domain: '', version: 0 };
  eachField(r, (field, wire) => {
    if (field === 1 && wire === WIRE_LEN) opset.domain = r.string();
    else if (field === 2 && wire === WIRE_VARINT) opset.version = r.int();
    else return false;
    return true;
  });
  return opset;
}

function readStringEntry(r: ProtoReader): [string, string] {
  let key = '';
  let value = '';
  eachField(r, (field, wire) => {
    if (field === 1 && wire === WIRE_LEN) key = r.string();
    else if (field === 2 && wire === WIRE_LEN) value = r.string();
    else return false;
    return true;
  });
  return [key, value];
}

/**
 * Parses an ONNX ModelProto. Throws OnnxProtoError on bytes that are not one: empty, truncated, malformed
 * protobuf, or a well-formed message without a graph or IR version (which random bytes rarely survive).
 */
export function parseOnnxModel(bytes: Uint8Array): OnnxModel {
  if (bytes.length === 0) throw new OnnxProtoError('the file is empty');
  const model: OnnxModel = {
    irVersion: 0,
    producerName: '',
    producerVersion: '',
    domain: '',
    modelVersion: 0,
    docString: '',
    opsets: [],
    metadataProps: {},
    graph: { name: '', nodes: [], inputs: [], outputs: [], initializerNames: [] },
  };
  let hasGraph = false;
  const r = ProtoReader.of(bytes);
  eachField(r, (field, wire) => {
    switch (field) {
      case 1:
        expectWire(wire, WIRE_VARINT, 'ModelProto.ir_version');
        model.irVersion = r.int();
        return true;
      case 2:
        expectWire(wire, WIRE_LEN, 'ModelProto.producer_name');
        model.producerName = r.string();
        return true;
      case 3:
        expectWire(wire, WIRE_LEN, 'ModelProto.producer_version');
        model.producerVersion = r.string();
        return true;
      case 4:
        expectWire(wire, WIRE_LEN, 'ModelProto.domain');
        model.domain = r.string();
        return true;
      case 5:
        expectWire(wire, WIRE_VARINT, 'ModelProto.model_version');
        model.modelVersion = r.int();
        return true;
      case 6:
        expectWire(wire, WIRE_LEN, 'ModelProto.doc_string');
        model.docString = r.string();
        return true;
      case 7:
        expectWire(wire, WIRE_LEN, 'ModelProto.graph');
        model.graph = readGraph(r.message());
        hasGraph = true;
        return true;
      case 8:
        expectWire(wire, WIRE_LEN, 'ModelProto.opset_import');
        model.opsets.push(readOpset(r.message()));
        return true;
      case 14: {
        expectWire(wire, WIRE_LEN, 'ModelProto.metadata_props');
        const [key, value] = readStringEntry(r.message());
        model.metadataProps[key] = value;
        return true;
      }
      default:
        return false;
    }
  });
  if (model.irVersion <= 0) throw new OnnxProtoError('no ir_version: not an ONNX model');
  if (!hasGraph) throw new OnnxProtoError('no graph: not an ONNX model');
  return model;
}

// ---------------------------------------------------------------------------------------------------------
// Writer

function encodeVarint(value: number): number[] {
  const out: number[] = [];
  let v = value;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return out;
}

function lengthDelimited(field: number, payload: Uint8Array): Uint8Array {
  const head = [...encodeVarint(field * 8 + WIRE_LEN), ...encodeVarint(payload.length)];
  const out = new Uint8Array(head.length + payload.length);
  out.set(head, 0);
  out.set(payload, head.length);
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** ValueInfoProto{name, type: TypeProto{tensor_type: {elem_type}}} with no shape (unknown rank). */
function encodeTensorValueInfo(name: string, elemType: number): Uint8Array {
  const tensorType = new Uint8Array([...encodeVarint(1 * 8 + WIRE_VARINT), ...encodeVarint(elemType)]);
  const typeProto = lengthDelimited(1, tensorType);
  return concat([lengthDelimited(1, new TextEncoder().encode(name)), lengthDelimited(2, typeProto)]);
}

/**
 * Returns new model bytes whose graph has extra tensor outputs appended after the existing ones. Everything
 * else is copied byte for byte; only the graph field is re-framed with its new length.
 */
export function appendGraphOutputs(
  modelBytes: Uint8Array,
  outputs: Array<{ name: string; elemType: number }>,
): Uint8Array {
  if (outputs.length === 0) return modelBytes;
  const r = ProtoReader.of(modelBytes);
  let graphStart = -1; // start of the last graph field's tag
  let graphPayload: Uint8Array | null = null;
  let graphEnd = -1;
  while (!r.done) {
    const start = r.offset;
    const { field, wire } = r.tag();
    if (field === 7 && wire === WIRE_LEN) {
      graphStart = start;
      graphPayload = r.bytes();
      graphEnd = r.offset;
    } else {
      r.skip(wire);
    }
  }
  if (graphPayload === null) throw new OnnxProtoError('no graph: not an ONNX model');
  const extra = outputs.map((o) => lengthDelimited(12, encodeTensorValueInfo(o.name, o.elemType)));
  return concat([
    modelBytes.subarray(0, graphStart),
    lengthDelimited(7, concat([graphPayload, ...extra])),
    modelBytes.subarray(graphEnd),
  ]);
}
