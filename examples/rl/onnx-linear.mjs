/**
 * A linear model as an ONNX file, written and read without any ONNX library: just the few
 * protobuf messages it needs (ModelProto, GraphProto, NodeProto, TensorProto, ValueInfoProto).
 *
 *   features [n, F] --MatMul weights [F]--> [n] --Add bias--> logits --head--> output
 *
 * head `softmax` (over the n rows: a policy over n candidates), `sigmoid` or `linear`.
 * Plain JavaScript so the learner script runs with `node` alone on the learner host.
 */

const FLOAT = 1;

function varint(value) {
  const bytes = [];
  let v = BigInt(value);
  if (v < 0n) v += 1n << 64n;
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    bytes.push(byte);
  } while (v > 0n);
  return Buffer.from(bytes);
}

const key = (field, wire) => varint((field << 3) | wire);
const int = (field, value) => Buffer.concat([key(field, 0), varint(value)]);
const bytes = (field, data) => Buffer.concat([key(field, 2), varint(data.length), data]);
const str = (field, text) => bytes(field, Buffer.from(text, 'utf8'));
const msg = (field, parts) => bytes(field, Buffer.concat(parts));

function floatTensor(name, dims, values) {
  const raw = Buffer.from(Float32Array.from(values).buffer);
  return [...dims.map((d) => int(1, d)), int(2, FLOAT), str(8, name), bytes(9, raw)];
}

function valueInfo(field, name, dims) {
  const dimMsgs = dims.map((d) => msg(1, [typeof d === 'string' ? str(2, d) : int(1, d)]));
  const tensorType = msg(1, [int(1, FLOAT), msg(2, dimMsgs)]);
  return msg(field, [str(1, name), msg(2, [tensorType])]);
}

function node(opType, inputs, outputs, attributes = []) {
  return msg(1, [
    ...inputs.map((i) => str(1, i)),
    ...outputs.map((o) => str(2, o)),
    str(4, opType),
    ...attributes,
  ]);
}

/**
 * @param {{ weights: number[], bias?: number, head?: 'softmax' | 'sigmoid' | 'linear',
 *           inputName?: string, outputName?: string }} spec
 * @returns {Buffer} the ONNX model file's bytes
 */
export function encodeLinearModel(spec) {
  const head = spec.head ?? 'softmax';
  const inputName = spec.inputName ?? 'features';
  const outputName = spec.outputName ?? (head === 'softmax' ? 'probabilities' : 'score');
  const width = spec.weights.length;
  const headNode =
    head === 'softmax'
      ? node('Softmax', ['logits'], [outputName], [msg(5, [str(1, 'axis'), int(3, 0), int(20, 2)])])
      : node(head === 'sigmoid' ? 'Sigmoid' : 'Identity', ['logits'], [outputName]);
  const graph = msg(7, [
    node('MatMul', [inputName, 'weights'], ['product']),
    node('Add', ['product', 'bias'], ['logits']),
    headNode,
    str(2, 'linear'),
    msg(5, floatTensor('weights', [width], spec.weights)),
    msg(5, floatTensor('bias', [], [spec.bias ?? 0])),
    valueInfo(11, inputName, ['n', width]),
    valueInfo(12, outputName, ['n']),
  ]);
  return Buffer.concat([int(1, 8), str(2, 'ygg-examples-rl'), graph, msg(8, [str(1, ''), int(2, 13)])]);
}

function* fields(buf) {
  let pos = 0;
  const readVarint = () => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const byte = buf[pos++];
      result |= BigInt(byte & 0x7f) << shift;
      if (!(byte & 0x80)) return result;
      shift += 7n;
    }
  };
  while (pos < buf.length) {
    const tag = Number(readVarint());
    const field = tag >> 3;
    const wire = tag & 7;
    if (wire === 0) yield { field, value: readVarint() };
    else if (wire === 2) {
      const length = Number(readVarint());
      yield { field, value: buf.subarray(pos, pos + length) };
      pos += length;
    } else if (wire === 5) {
      yield { field, value: buf.subarray(pos, pos + 4) };
      pos += 4;
    } else if (wire === 1) {
      yield { field, value: buf.subarray(pos, pos + 8) };
      pos += 8;
    } else throw new Error(`unsupported protobuf wire type ${wire}`);
  }
}

/**
 * Read the weights and bias back from a model written by `encodeLinearModel`.
 * @param {Uint8Array} model
 * @returns {{ weights: number[], bias: number }}
 */
export function decodeLinearModel(model) {
  const buf = Buffer.from(model.buffer, model.byteOffset, model.byteLength);
  const tensors = new Map();
  for (const top of fields(buf)) {
    if (top.field !== 7) continue;
    for (const part of fields(top.value)) {
      if (part.field !== 5) continue;
      let name = '';
      let values = [];
      for (const t of fields(part.value)) {
        if (t.field === 8) name = t.value.toString('utf8');
        if (t.field === 9) {
          const copy = Buffer.from(t.value);
          values = Array.from(new Float32Array(copy.buffer, copy.byteOffset, copy.byteLength / 4));
        }
      }
      tensors.set(name, values);
    }
  }
  const weights = tensors.get('weights');
  if (!weights) throw new Error('not a linear model: no `weights` initializer');
  return { weights, bias: tensors.get('bias')?.[0] ?? 0 };
}
