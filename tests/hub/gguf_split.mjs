// gguf_split.mjs — splits a GGUF file into N parts as llama.cpp's gguf-split
// does (the first part keeps every key; each part holds its share of the
// tensors; split.no/split.count as u16, split.tensors.count as i32), for the
// pull tests' split repository. Usage: node gguf_split.mjs IN.gguf N OUT_PREFIX
// writes OUT_PREFIX-0000K-of-0000N.gguf. No npm packages.
import fs from 'node:fs';

const [inPath, nText, prefix] = process.argv.slice(2);
const nParts = Number(nText);
if (!inPath || !(nParts >= 1) || !prefix) {
  console.error('usage: node gguf_split.mjs IN.gguf N OUT_PREFIX');
  process.exit(1);
}
const buf = fs.readFileSync(inPath);
let pos = 0;
const u32 = () => { const v = buf.readUInt32LE(pos); pos += 4; return v; };
const u64 = () => { const v = buf.readBigUInt64LE(pos); pos += 8; return v; };
const str = () => { const n = Number(u64()); const s = buf.toString('utf8', pos, pos + n); pos += n; return s; };
const SIZES = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };
function skipValue(type) {
  if (type === 8) { str(); return; }
  if (type === 9) {
    const elem = u32();
    const count = Number(u64());
    for (let i = 0; i < count; i++) skipValue(elem);
    return;
  }
  if (!(type in SIZES)) throw new Error(`${inPath}: metadata type ${type}`);
  pos += SIZES[type];
}

if (buf.toString('latin1', 0, 4) !== 'GGUF') throw new Error(`${inPath}: not a GGUF file`);
pos = 4;
const version = u32();
if (version < 2) throw new Error(`${inPath}: GGUF v${version}`);
const nTensors = Number(u64());
const nKv = Number(u64());
const kvs = [];
let alignment = 32;
for (let i = 0; i < nKv; i++) {
  const start = pos;
  const key = str();
  const type = u32();
  const valueAt = pos;
  skipValue(type);
  if (key === 'general.alignment') alignment = buf.readUInt32LE(valueAt);
  kvs.push({ key, raw: buf.subarray(start, pos) });
}
const tensors = [];
for (let i = 0; i < nTensors; i++) {
  const name = str();
  const nDims = u32();
  const dims = [];
  for (let d = 0; d < nDims; d++) dims.push(u64());
  const type = u32();
  const offset = Number(u64());
  tensors.push({ name, dims, type, offset });
}
const dataStart = Math.ceil(pos / alignment) * alignment;
const byOffset = [...tensors].sort((a, b) => a.offset - b.offset);
byOffset.forEach((t, i) => {
  const end = i + 1 < byOffset.length ? byOffset[i + 1].offset : buf.length - dataStart;
  t.data = buf.subarray(dataStart + t.offset, dataStart + end);
});

const le = (bytes, write) => { const b = Buffer.alloc(bytes); write(b); return b; };
const strBytes = (s) => { const b = Buffer.from(s, 'utf8'); return Buffer.concat([le(8, (x) => x.writeBigUInt64LE(BigInt(b.length))), b]); };
const kvU16 = (key, v) => Buffer.concat([strBytes(key), le(4, (x) => x.writeUInt32LE(2)), le(2, (x) => x.writeUInt16LE(v))]);
const kvI32 = (key, v) => Buffer.concat([strBytes(key), le(4, (x) => x.writeUInt32LE(5)), le(4, (x) => x.writeInt32LE(v))]);
const kvU32 = (key, v) => Buffer.concat([strBytes(key), le(4, (x) => x.writeUInt32LE(4)), le(4, (x) => x.writeUInt32LE(v))]);

for (let p = 0; p < nParts; p++) {
  const mine = tensors.slice(Math.floor((nTensors * p) / nParts), Math.floor((nTensors * (p + 1)) / nParts));
  const partKvs = p === 0 ? kvs.map((k) => k.raw) : (alignment !== 32 ? [kvU32('general.alignment', alignment)] : []);
  partKvs.push(kvU16('split.no', p), kvU16('split.count', nParts), kvI32('split.tensors.count', nTensors));
  const infos = [];
  const datas = [];
  let offset = 0;
  for (const t of mine) {
    infos.push(strBytes(t.name), le(4, (x) => x.writeUInt32LE(t.dims.length)));
    for (const d of t.dims) infos.push(le(8, (x) => x.writeBigUInt64LE(d)));
    infos.push(le(4, (x) => x.writeUInt32LE(t.type)), le(8, (x) => x.writeBigUInt64LE(BigInt(offset))));
    const padded = Math.ceil(t.data.length / alignment) * alignment;
    datas.push(t.data, Buffer.alloc(padded - t.data.length));
    offset += padded;
  }
  const head = Buffer.concat([
    Buffer.from('GGUF', 'latin1'), le(4, (x) => x.writeUInt32LE(3)),
    le(8, (x) => x.writeBigUInt64LE(BigInt(mine.length))), le(8, (x) => x.writeBigUInt64LE(BigInt(partKvs.length))),
    ...partKvs, ...infos,
  ]);
  const pad = Buffer.alloc(Math.ceil(head.length / alignment) * alignment - head.length);
  const name = `${prefix}-${String(p + 1).padStart(5, '0')}-of-${String(nParts).padStart(5, '0')}.gguf`;
  fs.writeFileSync(name, Buffer.concat([head, pad, ...datas]));
}
