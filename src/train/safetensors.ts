/**
 * The safetensors container (https://huggingface.co/docs/safetensors): an 8-byte little-endian
 * header length N, N bytes of JSON header, then the raw tensor bytes. The header maps each tensor name
 * to {dtype, shape, data_offsets: [begin, end]} (offsets relative to the start of the data) and may
 * hold "__metadata__", a map of string to string. The header is padded with spaces to a multiple of 8
 * bytes; tensors are stored back to back with no gaps, as the reference reader requires.
 * Only F32 tensors are written and read here (the whole model is float32).
 */
import { closeSync, readSync } from 'node:fs';
import { endianness } from 'node:os';
import { UserError, shown } from '../util/errors.js';
import { openRegular, readRegularFileAsync } from '../util/files.js';
import { ioError } from '../util/io-errors.js';

export interface TensorEntry {
  name: string;
  shape: number[];
  data: Float32Array;
}

export interface HeaderEntry {
  name: string;
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  metadata: Record<string, string>;
  tensors: HeaderEntry[];
  /** Byte offset of the data section in the file (8 + header length). */
  dataStart: number;
  /** Bytes the data section needs according to the header. */
  dataBytes: number;
}

/** Largest header accepted: a checkpoint of 256 layers has ~1,550 tensors, a header of ~150 KB. */
const MAX_HEADER = 16 * 1024 * 1024;

/** Largest file read by default (a checkpoint of the largest config the limits allow, with headroom). */
export const MAX_SAFETENSORS_BYTES = 2 ** 30 + MAX_HEADER + 8;

export interface ReadOptions {
  /** Largest file size accepted (default MAX_SAFETENSORS_BYTES). */
  maxBytes?: number;
  /** How the file is named in errors (default none: the path alone). */
  what?: string;
}

if (endianness() !== 'LE') {
  // float32 tensors are written as the in-memory bytes; safetensors is little-endian.
  throw new Error('wavenet checkpoints need a little-endian machine');
}

function f32Bytes(a: Float32Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

/** The file as a list of buffers (length, header, tensor data), ready for one atomic write. */
export function encodeSafetensors(tensors: TensorEntry[], metadata: Record<string, string>): Buffer[] {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new TypeError(`safetensors metadata ${k} must be a string`);
    }
    header.__metadata__ = metadata;
  }
  let off = 0;
  const seen = new Set<string>();
  for (const t of tensors) {
    if (seen.has(t.name) || t.name === '__metadata__')
      throw new TypeError(`safetensors: duplicate or reserved tensor name ${t.name}`);
    seen.add(t.name);
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length)
      throw new TypeError(
        `safetensors: tensor ${shown(t.name)} has ${t.data.length} values, shape [${t.shape}] needs ${n}`,
      );
    header[t.name] = { dtype: 'F32', shape: t.shape, data_offsets: [off, off + t.data.byteLength] };
    off += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  const pad = (8 - (Buffer.byteLength(json) % 8)) % 8;
  json += ' '.repeat(pad);
  const hbuf = Buffer.from(json, 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(hbuf.length));
  return [len, hbuf, ...tensors.map((t) => f32Bytes(t.data))];
}

const DTYPE_BYTES: Record<string, number> = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  F64: 8,
  I64: 8,
  U64: 8,
};

/** Parses and checks a header; `fileSize` is the whole file's size. Errors name `label`. */
export function parseHeader(head: Buffer, fileSize: number, label: string): SafetensorsHeader {
  const bad = (why: string) => new UserError(`${label}: not a valid safetensors file (${why})`);
  if (fileSize < 8 || head.length < 8) throw bad(`${fileSize} bytes, too short for the header length`);
  const n = Number(head.readBigUInt64LE(0));
  if (n < 2 || n > MAX_HEADER) throw bad(`header length ${n} is implausible`);
  if (8 + n > fileSize) throw new UserError(`${label}: truncated (${fileSize} bytes, the header alone needs ${8 + n})`);
  if (head.length < 8 + n) throw bad('header not read completely');
  let obj: unknown;
  try {
    obj = JSON.parse(head.subarray(8, 8 + n).toString('utf8'));
  } catch {
    throw bad('the header is not JSON');
  }
  if (!obj || typeof obj !== 'object' || Array.isArray(obj)) throw bad('the header is not a JSON object');
  const metadata: Record<string, string> = {};
  const tensors: HeaderEntry[] = [];
  for (const [name, v] of Object.entries(obj as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (!v || typeof v !== 'object') throw bad('__metadata__ is not an object');
      for (const [k, s] of Object.entries(v as Record<string, unknown>)) {
        if (typeof s !== 'string') throw bad(`__metadata__.${shown(k)} is not a string`);
        metadata[k] = s;
      }
      continue;
    }
    const e = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (!e || typeof e.dtype !== 'string' || !(e.dtype in DTYPE_BYTES))
      throw bad(`tensor ${shown(name)}: unknown dtype`);
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isSafeInteger(d) && d >= 0))
      throw bad(`tensor ${shown(name)}: bad shape`);
    const o = e.data_offsets;
    if (!Array.isArray(o) || o.length !== 2 || !o.every((d) => Number.isSafeInteger(d) && d >= 0) || o[1] < o[0]) {
      throw bad(`tensor ${shown(name)}: bad data_offsets`);
    }
    const count = (e.shape as number[]).reduce((a, b) => a * b, 1);
    if (count * DTYPE_BYTES[e.dtype] !== o[1] - o[0])
      throw bad(`tensor ${shown(name)}: data_offsets do not match shape and dtype`);
    tensors.push({ name, dtype: e.dtype, shape: e.shape as number[], begin: o[0], end: o[1] });
  }
  const sorted = [...tensors].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let expect = 0;
  for (const t of sorted) {
    if (t.begin !== expect) throw bad(`tensor ${shown(t.name)}: data is not contiguous`);
    expect = t.end;
  }
  const dataStart = 8 + n;
  if (dataStart + expect > fileSize) {
    throw new UserError(`${label}: truncated (${fileSize} bytes, its header needs ${dataStart + expect})`);
  }
  if (dataStart + expect < fileSize) throw bad(`${fileSize - dataStart - expect} stray bytes after the last tensor`);
  return { metadata, tensors, dataStart, dataBytes: expect };
}

/** Reads only the header of a file (cheap for big files). Refuses anything but a regular file. */
export async function readHeader(path: string, o: ReadOptions = {}): Promise<SafetensorsHeader> {
  const { fd, size } = openRegular(path, { what: o.what ?? '', maxBytes: o.maxBytes ?? MAX_SAFETENSORS_BYTES });
  try {
    const read = (buf: Buffer, n: number) => {
      let got = 0;
      while (got < n) {
        const r = readSync(fd, buf, got, n - got, got);
        if (r === 0) break;
        got += r;
      }
    };
    const lenBuf = Buffer.alloc(8);
    read(lenBuf, Math.min(8, size));
    const n = size >= 8 ? Number(lenBuf.readBigUInt64LE(0)) : 0;
    const want = size >= 8 && n >= 2 && n <= MAX_HEADER && 8 + n <= size ? 8 + n : Math.min(size, 8);
    const head = Buffer.alloc(want);
    read(head, want);
    return parseHeader(head, size, path);
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw ioError(e, path, 'read');
  } finally {
    closeSync(fd);
  }
}

export interface ReadResult {
  header: SafetensorsHeader;
  /** Tensor values by name (F32 only; other dtypes are an error). */
  tensors: Map<string, { shape: number[]; data: Float32Array }>;
  /** The raw data section (for checksums). */
  data: Buffer;
}

/**
 * Reads a whole file (a regular file of at most `maxBytes`: a FIFO, a device or a folder is refused
 * before anything is read). The header is checked first, so a lying header never allocates.
 */
export async function readSafetensors(path: string, o: ReadOptions = {}): Promise<ReadResult> {
  const maxBytes = o.maxBytes ?? MAX_SAFETENSORS_BYTES;
  await readHeader(path, { ...o, maxBytes }); // type, size and header checked before reading it whole
  const buf = await readRegularFileAsync(path, { what: o.what ?? '', maxBytes });
  const header = parseHeader(buf, buf.length, path);
  const data = buf.subarray(header.dataStart);
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const t of header.tensors) {
    if (t.dtype !== 'F32')
      throw new UserError(
        `${path}: tensor ${shown(t.name)} is ${shown(t.dtype)}; wavenet checkpoints hold F32 tensors only`,
      );
    const bytes = data.subarray(t.begin, t.end);
    const arr = new Float32Array(bytes.length / 4);
    Buffer.from(arr.buffer).set(bytes);
    tensors.set(t.name, { shape: t.shape, data: arr });
  }
  return { header, tensors, data };
}
