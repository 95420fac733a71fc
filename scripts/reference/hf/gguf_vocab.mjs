// gguf_vocab.mjs — reads the metadata (key/value pairs) of a GGUF file, enough
// to get a vocabulary's tokenizer.* keys out of llama.cpp's ggml-vocab-*.gguf
// files. Tensors are not read.
import { openSync, readSync, closeSync, fstatSync } from "node:fs";

const TYPE = { U8: 0, I8: 1, U16: 2, I16: 3, U32: 4, I32: 5, F32: 6, BOOL: 7, STRING: 8, ARRAY: 9, U64: 10, I64: 11, F64: 12 };

export function readGgufMetadata(path) {
  const fd = openSync(path, "r");
  // The metadata of a vocabulary file fits in its first bytes; read it all.
  const size = fstatSync(fd).size;
  const buf = Buffer.alloc(size);
  readSync(fd, buf, 0, size, 0);
  closeSync(fd);
  let at = 0;
  const u32 = () => { const v = buf.readUInt32LE(at); at += 4; return v; };
  const u64 = () => { const v = buf.readBigUInt64LE(at); at += 8; return Number(v); };
  const str = () => { const n = u64(); const s = buf.toString("utf8", at, at + n); at += n; return s; };
  const value = (type) => {
    switch (type) {
      case TYPE.U8: return buf.readUInt8(at++);
      case TYPE.I8: return buf.readInt8(at++);
      case TYPE.U16: at += 2; return buf.readUInt16LE(at - 2);
      case TYPE.I16: at += 2; return buf.readInt16LE(at - 2);
      case TYPE.U32: return u32();
      case TYPE.I32: at += 4; return buf.readInt32LE(at - 4);
      case TYPE.F32: at += 4; return buf.readFloatLE(at - 4);
      case TYPE.BOOL: return buf.readUInt8(at++) !== 0;
      case TYPE.STRING: return str();
      case TYPE.U64: return u64();
      case TYPE.I64: at += 8; return Number(buf.readBigInt64LE(at - 8));
      case TYPE.F64: at += 8; return buf.readDoubleLE(at - 8);
      case TYPE.ARRAY: {
        const t = u32(), n = u64(), out = new Array(n);
        for (let i = 0; i < n; i++) out[i] = value(t);
        return out;
      }
      default: throw new Error(`${path}: unknown GGUF value type ${type} at byte ${at}`);
    }
  };
  if (buf.toString("latin1", 0, 4) !== "GGUF") throw new Error(`${path}: not a GGUF file`);
  at = 4;
  u32(); // version
  u64(); // tensor count
  const nKv = u64();
  const kv = {};
  for (let i = 0; i < nKv; i++) {
    const key = str();
    kv[key] = value(u32());
  }
  return kv;
}
