// The few lines of ZIP needed to read a Freqtrade backtest result (backtest-result-*.zip,
// written by Python's zipfile with ZIP_DEFLATED): entries are found through the central
// directory (sizes in a local header may be zero when a writer streams), deflate entries are
// inflated with node:zlib's inflateRawSync, stored ones copied, and each entry's CRC-32 is
// checked when node:zlib has crc32 (Node ≥ 20.15). Encrypted entries, other compression
// methods and multi-disk archives are refused with what to do instead.
import * as zlib from 'node:zlib';

export interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  crc: number;
  flags: number;
  localOffset: number;
}

const EOCD = 0x06054b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const ZIP64_EOCD_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;

export class ZipError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ZipError';
  }
}

/** Whether the bytes start like a ZIP archive (a local header, or an empty archive). */
export function looksLikeZip(buf: Buffer): boolean {
  return buf.length >= 4 && (buf.readUInt32LE(0) === LOCAL || buf.readUInt32LE(0) === EOCD);
}

/** The archive's entries, from its central directory. */
export function zipEntries(buf: Buffer): ZipEntry[] {
  // The end record is the last 22 bytes plus a comment of at most 65,535 bytes.
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 65_535); i--)
    if (buf.readUInt32LE(i) === EOCD) {
      eocd = i;
      break;
    }
  if (eocd < 0) throw new ZipError('not a ZIP archive (no end of central directory record)');
  if (buf.readUInt16LE(eocd + 4) !== 0 || buf.readUInt16LE(eocd + 6) !== 0)
    throw new ZipError('multi-disk ZIP archives are not supported: unzip it and pass the .json');
  let count = buf.readUInt16LE(eocd + 10);
  let offset = buf.readUInt32LE(eocd + 16);
  if (count === 0xffff || offset === 0xffffffff) {
    // ZIP64: the locator just before the end record points at the ZIP64 end record.
    const loc = eocd - 20;
    if (loc < 0 || buf.readUInt32LE(loc) !== ZIP64_EOCD_LOCATOR)
      throw new ZipError('a ZIP64 archive without its locator');
    const z = Number(buf.readBigUInt64LE(loc + 8));
    if (buf.readUInt32LE(z) !== ZIP64_EOCD) throw new ZipError('a ZIP64 archive without its end record');
    count = Number(buf.readBigUInt64LE(z + 32));
    offset = Number(buf.readBigUInt64LE(z + 48));
  }
  const out: ZipEntry[] = [];
  let p = offset;
  for (let k = 0; k < count; k++) {
    if (p + 46 > buf.length || buf.readUInt32LE(p) !== CENTRAL) throw new ZipError('a damaged central directory');
    const flags = buf.readUInt16LE(p + 8);
    const method = buf.readUInt16LE(p + 10);
    const crc = buf.readUInt32LE(p + 16);
    let compressedSize = buf.readUInt32LE(p + 20);
    let size = buf.readUInt32LE(p + 24);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    let localOffset = buf.readUInt32LE(p + 42);
    const name = buf.toString('utf8', p + 46, p + 46 + nameLen);
    // ZIP64 extra field (id 1): the 64-bit values of the fields set to 0xffffffff, in this order.
    let e = p + 46 + nameLen;
    const end = e + extraLen;
    while (e + 4 <= end) {
      const id = buf.readUInt16LE(e);
      const len = buf.readUInt16LE(e + 2);
      if (id === 1) {
        let q = e + 4;
        const next = () => {
          const v = Number(buf.readBigUInt64LE(q));
          q += 8;
          return v;
        };
        if (size === 0xffffffff) size = next();
        if (compressedSize === 0xffffffff) compressedSize = next();
        if (localOffset === 0xffffffff) localOffset = next();
      }
      e += 4 + len;
    }
    out.push({ name, method, compressedSize, size, crc, flags, localOffset });
    p = end + commentLen;
  }
  return out;
}

/** The bytes of one entry, inflated and checked. */
export function zipRead(buf: Buffer, entry: ZipEntry): Buffer {
  if (entry.flags & 1) throw new ZipError(`${entry.name} is encrypted: unzip it and pass the .json`);
  const p = entry.localOffset;
  if (p + 30 > buf.length || buf.readUInt32LE(p) !== LOCAL) throw new ZipError(`${entry.name}: a damaged local header`);
  const start = p + 30 + buf.readUInt16LE(p + 26) + buf.readUInt16LE(p + 28);
  const data = buf.subarray(start, start + entry.compressedSize);
  if (data.length !== entry.compressedSize) throw new ZipError(`${entry.name}: the archive is truncated`);
  let out: Buffer;
  if (entry.method === 0) out = Buffer.from(data);
  else if (entry.method === 8) {
    try {
      out = zlib.inflateRawSync(data);
    } catch (err) {
      throw new ZipError(`${entry.name}: cannot inflate (${(err as Error).message})`);
    }
  } else
    throw new ZipError(
      `${entry.name} uses compression method ${entry.method}: only stored and deflate are read; unzip it and pass the .json`,
    );
  if (out.length !== entry.size)
    throw new ZipError(`${entry.name}: ${out.length} bytes inflated, the directory says ${entry.size}`);
  const crc32 = (zlib as { crc32?: (data: Buffer) => number }).crc32;
  if (crc32 && crc32(out) >>> 0 !== entry.crc >>> 0)
    throw new ZipError(`${entry.name}: CRC-32 mismatch (a damaged archive)`);
  return out;
}
